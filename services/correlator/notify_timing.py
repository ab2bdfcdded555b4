"""When an incident revision is published, and whether it is worth telling people (`Incident.notify`).

Alertmanager's timing, per incident (an aggregation group):

- `group_wait`: a new incident is published only this long after its first alert, so the alerts that arrive
  together go out together (0 publishes at once);
- `group_interval`: after that, what changed (alerts that joined or resolved, mutes, causes) is gathered and
  published at most this often, one revision carrying all of it;
- `repeat_interval`: an open incident that did not change, and that people were told of, is told again
  after this long.

A resolution (every alert resolved) is published at once. A later revision due while alerts still wait in
the correlator's consumer waits for them (`held_for_backlog`). `next_publication` says when; `decide` says, for
the revision being published, whether it is told. Muted alerts (silenced or inhibited, muting.py) do not
count: an incident whose firing alerts are all muted is never told, a muted alert joining tells nothing new,
and a resolution is told to those who were told of the incident and never to those who were not. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import AwareDatetime, BaseModel, ConfigDict

from healer_common.contract.incidents import Incident
from healer_common.contract.messages import stable_id


@dataclass(frozen=True)
class NotifyTiming:
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta


class NotifyState(BaseModel):
    """What was published and told about one incident (kept beside it in Redis)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opened_at: AwareDatetime
    published_at: AwareDatetime | None = None
    told_at: AwareDatetime | None = None
    told_digest: str | None = None
    recheck: bool = False
    """Something around the incident changed (a silence, an inhibiting alert, a deploy): derive it again."""


@dataclass(frozen=True)
class NotifyDecision:
    notify: bool
    state: NotifyState
    why: str


def next_publication(state: NotifyState, *, changed: bool, resolved: bool, timing: NotifyTiming) -> dt.datetime | None:
    """When the next revision is due: None when there is nothing to publish (and nobody to remind)."""
    if resolved:
        return state.published_at or state.opened_at
    if state.published_at is None:
        return state.opened_at + timing.group_wait
    if changed or state.recheck:
        return state.published_at + timing.group_interval
    if state.told_at is not None:
        return state.told_at + timing.repeat_interval
    return None


def held_for_backlog(
    state: NotifyState, due: dt.datetime, now: dt.datetime, *, resolved: bool, waiting: int, timing: NotifyTiming
) -> bool:
    """Whether a revision that fell due waits, because alerts still wait to be folded (`waiting`, behind the
    batch in hand), for at most one more group_interval. Published now, it would go out without them, and they
    would need one more revision and one more notification an interval later: behind in a storm, the correlator
    so still sends one revision per interval carrying everything that had arrived. A first revision and a
    resolution never wait."""
    if resolved or state.published_at is None or waiting == 0:
        return False
    return now < due + timing.group_interval


def loud_digest(incident: Incident) -> str:
    """What a notification would say: the firing alerts that are not muted."""
    return stable_id(*sorted(a.fingerprint for a in incident.firing_alerts if not a.muted))[:16]


def _quiet(incident: Incident) -> bool:
    return not any(not a.muted for a in incident.firing_alerts)


def decide(incident: Incident, state: NotifyState, timing: NotifyTiming, now: dt.datetime) -> NotifyDecision:
    """Whether the revision published now (`incident`, every alert derived) is told, and the state after it."""
    published = state.model_copy(update={"published_at": now, "recheck": False})
    if incident.state == "resolved":
        was_told = state.told_at is not None
        return NotifyDecision(was_told, published, "resolved" if was_told else "resolved before anyone was told")
    if _quiet(incident):
        return NotifyDecision(False, published, "every firing alert is muted")
    digest = loud_digest(incident)
    if state.told_at is None:
        why = "group_wait over"
    elif digest != state.told_digest:
        why = "group_interval over"
    elif now >= state.told_at + timing.repeat_interval:
        why = "repeat_interval over"
    else:
        return NotifyDecision(False, published, "nothing new to tell")
    told = published.model_copy(update={"told_at": now, "told_digest": digest})
    return NotifyDecision(True, told, why)
