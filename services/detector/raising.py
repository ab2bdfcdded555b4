"""How an alert is worded and identified, whichever engine raised it: held conditions, thresholds, trends or
log signatures all build their alerts here, so every alert carries the same labels, fingerprint and ids.

Event ids derive from the fingerprint and what caused the transition (an input event id, or the due time
of a timer), so a redelivered input or two replicas evaluating the same timer publish the same id, which
JetStream's duplicate window drops.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, Severity, alert_labels
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import stable_id

MAX_EVIDENCE = 8
LABEL_LIMIT = 256
_NOT_LABELS = frozenset({"alertname", "alert_id", "severity", "cluster"})


def firing_alert(
    *,
    alert_id: str,
    severity: Severity,
    fingerprint: str,
    cluster: str,
    resource: ResourceRef | None,
    labels: dict[str, str],
    summary: str,
    description: str,
    starts_at: dt.datetime,
    evidence: list[Evidence],
    cause: str,
    now: dt.datetime,
) -> Alert:
    """A firing alert; `labels` are the signal's own (topology included), the standard ones win over them."""
    own = {k: v[:LABEL_LIMIT] for k, v in labels.items() if k not in _NOT_LABELS}
    return Alert(
        event_id=stable_id(fingerprint, "firing", cause),
        correlation_id=fingerprint,
        alert_id=alert_id,
        status="firing",
        severity=severity,
        fingerprint=fingerprint,
        cluster=cluster,
        namespace=resource.namespace if resource else labels.get("namespace"),
        resource=resource,
        labels={**own, **alert_labels(alert_id, severity, cluster, resource)},
        annotations={"summary": summary, "description": description or CATALOGUE[alert_id].summary},
        starts_at=starts_at,
        evidence=evidence[-MAX_EVIDENCE:],
        time=now,
    )


def resolved_alert(alert: Alert, *, ends_at: dt.datetime, evidence: Evidence, cause: str, now: dt.datetime) -> Alert:
    return alert.evolve(
        event_id=stable_id(alert.fingerprint, "resolved", cause),
        status="resolved",
        ends_at=max(ends_at, alert.starts_at),
        time=now,
        evidence=[*alert.evidence, evidence][-MAX_EVIDENCE:],
    )


def escalated_alert(alert: Alert, *, severity: Severity, evidence: Evidence, cause: str, now: dt.datetime) -> Alert:
    """The same firing alert at a higher severity (a crash loop that kept restarting, a nearer expiry)."""
    return alert.evolve(
        event_id=stable_id(alert.fingerprint, "firing", severity, cause),
        severity=severity,
        labels={**alert.labels, "severity": severity},
        time=now,
        evidence=[*alert.evidence, evidence][-MAX_EVIDENCE:],
    )


def utc_at(seconds: float) -> dt.datetime:
    """A sample's unix time as the aware UTC datetime alerts carry."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
