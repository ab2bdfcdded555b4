"""What the correlator does with an incident whose time has come (notify_timing.next_publication): derive it
(revision.derive), decide whether it is told (notify_timing.decide), and cut the revision that goes out
(revision.publishable). An incident looked at again only because something around it changed, and which that
change left as it was, publishes nothing. And when each part of a wave goes out (timed_parts). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from healer_common.contract.incidents import Incident, TimelineEntry
from services.correlator.notify_timing import NotifyState, NotifyTiming, decide
from services.correlator.revision import Limits, Surroundings, derive, publishable


@dataclass(frozen=True)
class Publication:
    revision: Incident | None
    """What goes out now; None when nothing changed that a revision would show."""
    stored: Incident
    """The incident as kept afterwards: derived, its revision stamped, its changes published."""
    state: NotifyState
    why: str
    remuted: frozenset[str] = frozenset()
    """Alerts whose mutes the derivation changed (to be written back)."""
    noted: tuple[TimelineEntry, ...] = ()
    """The timeline entry the derivation added (silenced, unsilenced), to be written back."""


def _remuted(before: Incident, after: Incident) -> frozenset[str]:
    return frozenset(a.fingerprint for a, b in zip(before.alerts, after.alerts, strict=True) if a != b)


def _noted(before: Incident, after: Incident) -> tuple[TimelineEntry, ...]:
    """derive adds at most one entry; the timeline is capped, so its length cannot tell."""
    if not after.timeline or (before.timeline and after.timeline[-1] is before.timeline[-1]):
        return ()
    return (after.timeline[-1],)


def publication(
    incident: Incident,
    state: NotifyState,
    around: Surroundings,
    *,
    timing: NotifyTiming,
    limits: Limits,
    now: dt.datetime,
) -> Publication:
    derived = derive(incident, around, now)
    remuted, noted = _remuted(incident, derived), _noted(incident, derived)
    first = state.published_at is None
    repeat = state.told_at is not None and now >= state.told_at + timing.repeat_interval
    quiet = not first and not incident.changed and derived == incident and incident.state != "resolved"
    if quiet and not repeat:
        return Publication(
            None, derived, state.model_copy(update={"recheck": False}), "nothing changed", remuted, noted
        )
    decision = decide(derived, state, timing, now)
    revision = publishable(derived, now, first=first, limits=limits).model_copy(update={"notify": decision.notify})
    stored = derived.model_copy(
        update={
            "revision": revision.revision,
            "event_id": revision.event_id,
            "state": revision.state,
            "notify": decision.notify,
            "changed": [],
            "time": now,
        }
    )
    return Publication(revision, stored, decision.state, decision.why, remuted, noted)


def timed_parts(
    due: list[tuple[dt.datetime, str]], clock: Callable[[], dt.datetime], size: int
) -> Iterator[tuple[dt.datetime, list[str]]]:
    """(time, incident ids) of each part of a wave, `due` being (when due, incident id) in that order: at most
    `size` ids, stamped when the part is cut (`clock`, read as each is asked for: after the part before it was
    derived) or when its first revision falls due if that is later, and holding only revisions due by then. A
    revision never carries a time before it fell due, nor one before it could go out."""
    position = 0
    while position < len(due):
        stamp, ids = max(clock(), due[position][0]), list[str]()
        while position < len(due) and len(ids) < size and due[position][0] <= stamp:
            ids.append(due[position][1])
            position += 1
        yield stamp, ids
