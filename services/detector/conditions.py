"""Alerts raised and resolved by `healer.condition.v1` events.

A condition whose reason maps to a catalogue id (OOMKilled -> H8, ImagePullBackOff -> H4 ...) fires that
alert for the resource at once; a recovery reason (Ready, Running ...) on the same object resolves every
alert its earlier conditions raised. Called by handlers.py with the object's active alerts from
alert_state.py; pure apart from that.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from healer_common.alerts import CATALOGUE, Alert, Evidence, alert_fingerprint, alert_labels
from healer_common.events import ConditionEvent, ResourceRef
from healer_common.messages import stable_id


@dataclass(frozen=True)
class ConditionRules:
    alert_for_reason: dict[str, str]
    recovery_reasons: frozenset[str]


def object_key(cluster: str, resource: ResourceRef) -> str:
    """The object an alert belongs to, container ignored, so a pod's recovery resolves its containers' alerts."""
    return f"{cluster}/{resource.kind}/{resource.namespace or '-'}/{resource.name}"


def evaluate_condition(
    event: ConditionEvent, rules: ConditionRules, active: Iterable[Alert], now: dt.datetime
) -> list[Alert]:
    """The alert transitions this condition causes: a new firing alert, resolutions, or nothing."""
    data = event.data
    seen_at = event.time or now
    evidence = Evidence(
        kind="event",
        summary=f"{data.reason}: {data.message}" if data.message else data.reason,
        ref=event.id,
        time=seen_at,
    )
    if data.reason in rules.recovery_reasons:
        return [
            alert.evolve(
                event_id=stable_id(alert.fingerprint, "resolved", event.source, event.id),
                status="resolved",
                ends_at=seen_at,
                time=now,
                evidence=[*alert.evidence, evidence][-8:],
            )
            for alert in active
            if alert.firing
        ]
    alert_id = rules.alert_for_reason.get(data.reason)
    if alert_id is None:
        return []
    entry = CATALOGUE[alert_id]
    labels = {**data.labels, **alert_labels(alert_id, entry.severity, event.cluster, data.resource)}
    labels["reason"] = data.reason
    fingerprint = alert_fingerprint(alert_id, event.cluster, data.resource, {"reason": data.reason})
    if any(a.fingerprint == fingerprint and a.firing for a in active):
        return []  # already firing: a repeat is not a new alert
    return [
        Alert(
            event_id=stable_id(fingerprint, "firing", event.source, event.id),
            correlation_id=fingerprint,
            alert_id=alert_id,
            status="firing",
            severity=entry.severity,
            fingerprint=fingerprint,
            cluster=event.cluster,
            namespace=data.resource.namespace,
            resource=data.resource,
            labels=labels,
            annotations={
                "summary": f"{entry.name}: {data.resource} reported {data.reason}",
                "description": data.message or entry.summary,
            },
            starts_at=seen_at,
            evidence=[evidence],
            time=now,
        )
    ]
