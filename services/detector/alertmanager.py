"""Alertmanager webhooks become Healer alerts, so the Prometheus alerts a team already has flow through
Healer's correlation, remediation and notification.

An alert carrying the label `healer_alert_id` with a catalogue id is published under that id; any other is
published as `EXT` with its `alertname` kept in the labels.
"""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from healer_common.contract.alerts import CATALOGUE, Alert, Evidence, Severity, alert_fingerprint
from healer_common.contract.events import DEFAULT_CLUSTER, AlertmanagerWebhook, ResourceRef
from healer_common.contract.messages import stable_id

_SEVERITIES: dict[str, Severity] = {
    "critical": "critical",
    "page": "critical",
    "error": "critical",
    "warning": "warning",
    "warn": "warning",
    "info": "info",
    "none": "info",
}
MAX_SUMMARY = 2_048
_RESOURCE_LABELS = (
    ("pod", "Pod"),
    ("deployment", "Deployment"),
    ("node", "Node"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("service", "Service"),
)


RELAYED = "alertmanager"
"""The generator of the alerts relayed from an Alertmanager webhook (decided by Alertmanager, not by a rule here)."""


def _resource(labels: dict[str, str]) -> ResourceRef | None:
    """The Kubernetes object the labels name, if they name one that can exist: labels are free text, and one
    too long for a Kubernetes name leaves the alert without a target (its labels keep the text) rather than
    failing it."""
    for label, kind in _RESOURCE_LABELS:
        if name := labels.get(label):
            try:
                return ResourceRef(kind=kind, namespace=labels.get("namespace"), name=name)
            except ValidationError:
                return None
    return None


def alerts_from_webhook(payload: AlertmanagerWebhook, now: dt.datetime) -> list[Alert]:
    alerts = []
    for am in payload.alerts:
        labels = dict(am.labels)
        alert_id = labels.get("healer_alert_id", "EXT")
        if alert_id not in CATALOGUE:
            alert_id = "EXT"
        cluster = labels.get("cluster", DEFAULT_CLUSTER)
        resource = _resource(labels)
        fingerprint = am.fingerprint if am.fingerprint and 8 <= len(am.fingerprint) <= 64 else None
        # Alertmanager's own fingerprint is kept when it fits ours; any other shape is hashed, never refused.
        fingerprint = fingerprint or alert_fingerprint(alert_id, cluster, resource, labels)
        severity = _SEVERITIES.get(labels.get("severity", "").lower(), CATALOGUE[alert_id].severity)
        alerts.append(
            Alert(
                event_id=stable_id(fingerprint, am.status, am.starts_at.isoformat(), am.ends_at),
                correlation_id=fingerprint,
                alert_id=alert_id,
                status=am.status,
                severity=severity,
                fingerprint=fingerprint,
                cluster=cluster,
                namespace=labels.get("namespace"),
                resource=resource,
                labels={**labels, "severity": severity, "cluster": cluster},
                annotations=dict(am.annotations),
                starts_at=am.starts_at,
                ends_at=am.ends_at if am.status == "resolved" else None,
                evidence=[
                    Evidence(
                        kind="event",
                        summary=f"Alertmanager {payload.receiver or 'webhook'}: {labels.get('alertname', '?')}"[
                            :MAX_SUMMARY
                        ],
                        ref=am.generator_url,
                    )
                ],
                generator=RELAYED,
                time=now,
            )
        )
    return alerts
