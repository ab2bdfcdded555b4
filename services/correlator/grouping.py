"""Alerts into incidents, the way Alertmanager users know: alerts with the same values of the `group_by`
labels belong to one incident; a repeated or redelivered alert changes nothing; the incident resolves when
its last alert does.

`apply_alert` is a pure function of the open incident (if any), the alert and the time; handlers.py loads
and saves the open incident around it under a per-group lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from healer_common.alerts import SEVERITY_RANK, Alert
from healer_common.incidents import AlertSummary, CauseCandidate, Incident, TimelineEntry
from healer_common.messages import stable_id

MAX_TIMELINE = 200


@dataclass(frozen=True)
class GroupingPolicy:
    group_by: tuple[str, ...]


def group_of(alert: Alert, policy: GroupingPolicy) -> tuple[str, dict[str, str]]:
    """The group key and the labels that define it."""
    labels = {name: alert.labels.get(name, "") for name in policy.group_by}
    return stable_id(*sorted(labels.items()))[:16], labels


def _summary(alert: Alert) -> AlertSummary:
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


def _primary_cause(alerts: list[AlertSummary]) -> list[CauseCandidate]:
    first = min(alerts, key=lambda a: a.starts_at)
    return [
        CauseCandidate(
            kind="time-order",
            description=f"earliest alert: {first.summary}",
            score=1.0 if len(alerts) == 1 else 0.5,
            resource=first.resource,
            evidence=[first.fingerprint],
        )
    ]


def _title(alerts: list[AlertSummary]) -> str:
    first = min(alerts, key=lambda a: a.starts_at)
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return f"{first.summary}{more}"


def _severity(alerts: list[AlertSummary]) -> str:
    relevant = [a for a in alerts if a.status == "firing"] or alerts
    return max((a.severity for a in relevant), key=SEVERITY_RANK.__getitem__)


def _open(alert: Alert, group_key: str, group_labels: dict[str, str], now: dt.datetime) -> Incident:
    incident_id = stable_id(group_key, alert.fingerprint, alert.starts_at.isoformat())[:16]
    alerts = [_summary(alert)]
    return Incident(
        event_id=stable_id(incident_id, 1),
        correlation_id=incident_id,
        incident_id=incident_id,
        state="opened",
        revision=1,
        title=_title(alerts),
        severity=alert.severity,
        cluster=alert.cluster,
        namespace=alert.namespace,
        group_key=group_key,
        group_labels=group_labels,
        alerts=alerts,
        causes=_primary_cause(alerts),
        timeline=[TimelineEntry(time=now, kind="opened", text=f"{alert.alert_id} firing: {alert.summary()}")],
        opened_at=now,
        time=now,
    )


def apply_alert(
    incident: Incident | None, alert: Alert, group_key: str, group_labels: dict[str, str], now: dt.datetime
) -> Incident | None:
    """The incident after this alert, or None when the alert changes nothing (a duplicate, a stray resolve)."""
    if incident is None:
        return _open(alert, group_key, group_labels, now) if alert.firing else None
    known = {a.fingerprint: a for a in incident.alerts}
    previous = known.get(alert.fingerprint)
    if previous is not None and previous.status == alert.status:
        return None
    if previous is None and not alert.firing:
        return None
    known[alert.fingerprint] = _summary(alert)
    alerts = sorted(known.values(), key=lambda a: a.starts_at)
    resolved = all(a.status == "resolved" for a in alerts)
    verb = "firing" if alert.firing else "resolved"
    timeline = [
        *incident.timeline,
        TimelineEntry(time=now, kind=verb, text=f"{alert.alert_id} {verb}: {alert.summary()}"),
    ]
    revision = incident.revision + 1
    return incident.evolve(
        event_id=stable_id(incident.incident_id, revision),
        state="resolved" if resolved else "updated",
        revision=revision,
        title=_title(alerts),
        severity=_severity(alerts),
        alerts=alerts,
        causes=_primary_cause(alerts),
        timeline=timeline[-MAX_TIMELINE:],
        resolved_at=now if resolved else None,
        time=now,
    )
