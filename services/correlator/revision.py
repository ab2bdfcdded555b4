"""How an incident changes, one revision at a time.

`apply_alert` folds one alert into an incident (or opens one): only news changes it, so a repeated or
redelivered alert, a stale firing after its own resolution, or a resolve for an alert the incident never
held returns None. `derive` recomputes what follows from the alerts and the world around them: which alerts
are muted, the ranked causes, other environments, title, severity and namespace. `next_revision` stamps a
new revision. The correlator (correlation.py) loads the surroundings and publishes the result. Pure.
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


@dataclass(frozen=True)
class Surroundings:
    """What an incident's derived parts depend on besides its alerts."""

    silences: Sequence[Silence]
    rules: Sequence[InhibitionRule]
    sources: Mapping[str, Labels]
    ranking: RankingInputs
    apps: Mapping[str, AppView]


def summary_of(alert: Alert) -> AlertSummary:
    return AlertSummary(
        fingerprint=alert.fingerprint,
        alert_id=alert.alert_id,
        status=alert.status,
        severity=alert.severity,
        resource=alert.resource,
        labels=alert.labels,
        summary=alert.summary(),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
    )


def is_news(previous: AlertSummary, alert: Alert) -> bool:
    """A later firing of the alert, or the end of the firing held: anything else is a repeat or stale."""
    if alert.starts_at != previous.starts_at:
        return alert.starts_at > previous.starts_at
    return previous.status == "firing" and alert.status == "resolved"


def _entry(now: dt.datetime, kind: str, text: str) -> TimelineEntry:
    return TimelineEntry(time=now, kind=kind, text=text)


def open_incident(alert: Alert, group: Group, now: dt.datetime) -> Incident:
    incident_id = stable_id(group.key, alert.fingerprint, alert.starts_at.isoformat())[:16]
    summary = summary_of(alert)
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
        timeline=[_entry(now, "opened", f"{alert.alert_id} firing: {summary.summary}")],
        opened_at=now,
        time=now,
    )


def apply_alert(
    incident: Incident | None, alert: Alert, group: Group, now: dt.datetime, why: str = ""
) -> Incident | None:
    """The incident after this alert, or None when the alert is no news."""
    if incident is None:
        return open_incident(alert, group, now) if alert.firing else None
    known = {a.fingerprint: a for a in incident.alerts}
    previous = known.get(alert.fingerprint)
    if previous is None and not alert.firing:
        return None
    if previous is not None and not is_news(previous, alert):
        return None
    known[alert.fingerprint] = summary_of(alert)
    alerts = sorted(known.values(), key=lambda a: (a.starts_at, a.fingerprint))
    resolved = all(a.status == "resolved" for a in alerts)
    joined = f" (joined: {why})" if previous is None and why else ""
    text = f"{alert.alert_id} {alert.status}: {alert.summary()}{joined}"
    return next_revision(
        incident,
        now,
        state="resolved" if resolved else "updated",
        alerts=alerts,
        timeline=[*incident.timeline, _entry(now, alert.status, text)][-MAX_TIMELINE:],
        resolved_at=now if resolved else None,
    )


def next_revision(incident: Incident, now: dt.datetime, **changes: object) -> Incident:
    revision = incident.revision + 1
    state: IncidentState = "resolved" if incident.state == "resolved" else "updated"
    return incident.evolve(
        **{"state": state, **changes},
        event_id=stable_id(incident.incident_id, revision),
        revision=revision,
        time=now,
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
