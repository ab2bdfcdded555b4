"""How an incident changes, and what one of its revisions carries.

`apply_alert` folds one alert into an incident (or opens one): only news changes it, so a repeated or
redelivered alert, a stale firing after its own resolution, or a resolve for an alert the incident never
held returns None. Changes gather in the stored incident until its next revision is due (notify_timing.py).
`derive` recomputes what follows from the alerts and the world around them: which alerts are muted, the ranked
causes, other environments, title, severity and namespace. `publishable` is the revision that goes out: the
counts, what changed since the previous one, and as many alerts in full as its limits allow (`Limits`).
The correlator (adapters/correlation.py) loads the surroundings and publishes the result. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from healer_common.contract.alerts import SEVERITY_RANK, Alert
from healer_common.contract.incidents import AlertSummary, Incident, IncidentState, TimelineEntry
from healer_common.contract.matchers import InhibitionRule
from healer_common.contract.messages import Labels, stable_id
from healer_common.contract.silences import Silence
from services.correlator.causes import RankingInputs, rank_causes
from services.correlator.environments import AppView, environment_differences
from services.correlator.grouping import Group
from services.correlator.muting import all_silenced, mute

MAX_TIMELINE = 200
CARRIED_TIMELINE = 10
"""A revision carries the newest entries of the timeline; the store keeps MAX_TIMELINE."""
ELLIPSIS = "…"


@dataclass(frozen=True)
class Limits:
    """How big an incident's parts may grow (settings: correlator.revision_alerts, revision_max_bytes,
    label_value_max)."""

    revision_alerts: int = 100
    revision_bytes: int = 262_144
    value_chars: int = 1_024

    def cut(self, text: str) -> str:
        return text if len(text) <= self.value_chars else text[: self.value_chars - 1] + ELLIPSIS


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Surroundings:
    """What an incident's derived parts depend on besides its alerts."""

    silences: Sequence[Silence]
    rules: Sequence[InhibitionRule]
    sources: Mapping[str, Labels]
    ranking: RankingInputs
    apps: Mapping[str, AppView]


def summary_of(alert: Alert, limits: Limits = DEFAULT_LIMITS) -> AlertSummary:
    """The alert as an incident keeps it, label values and summary cut to `limits.value_chars`. Built from an
    alert that was validated on arrival, so without validating again (a storm builds ten thousand). Every
    field is given: model_construct asks `inspect` about each default factory, which costs more than validating."""
    return AlertSummary.model_construct(
        fingerprint=alert.fingerprint,
        alert_id=alert.alert_id,
        status=alert.status,
        severity=alert.severity,
        resource=alert.resource,
        labels={name: limits.cut(value) for name, value in alert.labels.items()},
        summary=limits.cut(alert.summary()),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        silenced_by=[],
        inhibited_by=[],
    )


def is_news(previous: AlertSummary, alert: Alert) -> bool:
    """A later firing of the alert, or the end of the firing held: anything else is a repeat or stale."""
    if alert.starts_at != previous.starts_at:
        return alert.starts_at > previous.starts_at
    return previous.status == "firing" and alert.status == "resolved"


def _entry(now: dt.datetime, kind: str, text: str) -> TimelineEntry:
    return TimelineEntry.model_construct(time=now, kind=kind, text=text)


def open_incident(alert: Alert, group: Group, now: dt.datetime, limits: Limits = DEFAULT_LIMITS) -> Incident:
    incident_id = stable_id(group.key, alert.fingerprint, alert.starts_at.isoformat())[:16]
    summary = summary_of(alert, limits)
    return Incident(
        event_id=stable_id(incident_id, 1),
        correlation_id=incident_id,
        incident_id=incident_id,
        state="opened",
        revision=1,
        title=summary.summary,
        severity=alert.severity,
        cluster=alert.cluster,
        namespace=alert.namespace,
        group_key=group.key,
        group_labels=group.labels,
        alerts=[summary],
        alert_count=1,
        firing_count=1,
        changed=[alert.fingerprint],
        changed_count=1,
        timeline=[_entry(now, "opened", f"{alert.alert_id} firing: {summary.summary}")],
        opened_at=now,
        time=now,
    )


def apply_alert(  # noqa: PLR0917 - `why` and `limits` read naturally in place; the tests pass four
    incident: Incident | None,
    alert: Alert,
    group: Group,
    now: dt.datetime,
    why: str = "",
    limits: Limits = DEFAULT_LIMITS,
) -> Incident | None:
    """The incident after this alert (its revision not yet stamped: see `publishable`), or None when the alert
    is no news. `changed` gathers the alerts that changed since the last revision."""
    if incident is None:
        return open_incident(alert, group, now, limits) if alert.firing else None
    known = {a.fingerprint: a for a in incident.alerts}
    previous = known.get(alert.fingerprint)
    if previous is None and not alert.firing:
        return None
    if previous is not None and not is_news(previous, alert):
        return None
    summary = summary_of(alert, limits)
    known[alert.fingerprint] = summary
    alerts = sorted(known.values(), key=lambda a: (a.starts_at, a.fingerprint))
    resolved = all(a.status == "resolved" for a in alerts)
    joined = f" (joined: {why})" if previous is None and why else ""
    text = f"{alert.alert_id} {alert.status}: {summary.summary}{joined}"
    changed = [f for f in incident.changed if f != alert.fingerprint] + [alert.fingerprint]
    # model_copy, not evolve: every part is already valid, and re-validating the whole incident for each
    # alert made a group's cost grow with the square of its size
    return incident.model_copy(
        update={
            "state": "resolved" if resolved else incident.state,
            "alerts": alerts,
            "changed": changed,
            "timeline": [*incident.timeline, _entry(now, alert.status, text)][-MAX_TIMELINE:],
            "resolved_at": now if resolved else None,
        }
    )


def _size(model: AlertSummary | Incident) -> int:
    return len(model.model_dump_json()) + 1


def _carried(incident: Incident, changed: list[str], room: int, limits: Limits) -> list[AlertSummary]:
    """Every alert when they fit; else the primary, the changed (newest first), then the newest firing."""
    alerts = incident.alerts
    sizes = {a.fingerprint: _size(a) for a in alerts}
    if len(alerts) <= limits.revision_alerts and sum(sizes.values()) <= room:
        return list(alerts)
    by_fp = {a.fingerprint: a for a in alerts}
    firing = sorted((a for a in alerts if a.status == "firing"), key=AlertSummary.last_news, reverse=True)
    order = [incident.primary, *(by_fp[f] for f in changed if f in by_fp), *firing]
    chosen: dict[str, AlertSummary] = {}
    for alert in order:
        if len(chosen) == limits.revision_alerts:
            break
        if alert.fingerprint not in chosen and (not chosen or sizes[alert.fingerprint] <= room):
            chosen[alert.fingerprint] = alert
            room -= sizes[alert.fingerprint]
    return sorted(chosen.values(), key=lambda a: (a.starts_at, a.fingerprint))


def publishable(incident: Incident, now: dt.datetime, *, first: bool, limits: Limits = DEFAULT_LIMITS) -> Incident:
    """The revision to publish from the stored incident (every alert, derived): stamped, counted, and cut to
    `limits`: what changed since the last revision first, the rest counted."""
    by_fp = {a.fingerprint: a for a in incident.alerts}
    changed = sorted((f for f in incident.changed if f in by_fp), key=lambda f: by_fp[f].last_news(), reverse=True)
    revision = incident.revision if first else incident.revision + 1
    state: IncidentState = "resolved" if incident.state == "resolved" else "opened" if first else "updated"
    listed, room = [], limits.revision_bytes // 4
    for fingerprint in changed:
        room -= len(fingerprint) + 3
        if room < 0:
            break
        listed.append(fingerprint)
    shell = incident.model_copy(
        update={
            "alerts": [incident.primary],
            "timeline": incident.timeline[-CARRIED_TIMELINE:],
            "changed": listed,
        }
    )
    room = limits.revision_bytes - _size(shell)
    return shell.model_copy(
        update={
            "alerts": _carried(incident, changed, room, limits),
            "alert_count": len(incident.alerts),
            "firing_count": len(incident.firing_alerts),
            "changed_count": len(changed),
            "state": state,
            "revision": revision,
            "event_id": stable_id(incident.incident_id, revision),
            "time": now,
        }
    )


def _severity(alerts: Sequence[AlertSummary]) -> str:
    relevant = [a for a in alerts if a.status == "firing"] or alerts
    return max((a.severity for a in relevant), key=SEVERITY_RANK.__getitem__)


def _namespace(alerts: Sequence[AlertSummary]) -> str | None:
    """The namespace every alert is in; None when they span several, or a cluster-scoped object (a node)."""
    namespaces = {a.labels.get("namespace", "") for a in alerts}
    return (namespaces.pop() or None) if len(namespaces) == 1 else None


def _title(alerts: Sequence[AlertSummary], primary: AlertSummary) -> str:
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return f"{primary.summary}{more}"


def _primary(incident: Incident) -> AlertSummary:
    """The alert about the top cause's object if there is one, else the earliest."""
    if incident.causes and (cause := incident.causes[0].resource) is not None:
        for alert in incident.alerts:
            if alert.resource is not None and alert.resource.key == cause.key:
                return alert
    return incident.primary


def derive(incident: Incident, around: Surroundings, now: dt.datetime) -> Incident:
    """The incident with its derived parts recomputed; equal to the input when nothing around it changed."""
    alerts = mute(incident.alerts, around.silences, around.rules, around.sources, now)
    silenced = incident.silenced if incident.state == "resolved" else all_silenced(alerts)
    timeline = incident.timeline
    if silenced != incident.silenced:
        text = "every firing alert is silenced" if silenced else "no longer silenced"
        timeline = [*timeline, _entry(now, "silenced" if silenced else "unsilenced", text)][-MAX_TIMELINE:]
    muted = incident.model_copy(update={"alerts": alerts})
    causes = rank_causes(muted, around.ranking)
    ranked = muted.model_copy(update={"causes": causes})
    derived = ranked.model_copy(
        update={
            "silenced": silenced,
            "timeline": timeline,
            "title": _title(alerts, _primary(ranked)),
            "severity": _severity(alerts),
            "namespace": _namespace(alerts),
            "environment_differences": environment_differences(ranked, around.apps),
        }
    )
    return incident if derived == incident else derived
