"""Sample messages for the unit tests: valid by construction, with the few fields a test cares about as arguments.

Every builder goes through the real models (and validation), so a sample that drifts from the contract fails
loudly here rather than passing silently in a test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_common.contract.alerts import Alert, AlertStatus, Severity, alert_fingerprint
from healer_common.contract.events import EVENT_ADAPTER, ConditionEvent, Event, ResourceRef
from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.remediations import Remediation, RemediationState, RemediationStep

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
"""ManualClock's default start: the time every sample is stamped with unless a test says otherwise."""


def cloudevent(event_type: str, data: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    """A CloudEvents structured-mode body as a user's system would send it (JSON-ready)."""
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "/tests/unit",
        "type": event_type,
        "time": "2026-01-05T09:00:00Z",
        "data": data,
        **attributes,
    }


def pod(name: str = "rex-1", namespace: str = "cto", container: str | None = None) -> ResourceRef:
    return ResourceRef(kind="Pod", namespace=namespace, name=name, container=container)


def condition(
    reason: str,
    *,
    resource: ResourceRef | None = None,
    event_id: str = "evt-1",
    time: dt.datetime | None = T0,
    message: str | None = None,
    cluster: str = "default",
) -> ConditionEvent:
    """A `healer.condition.v1` event about a pod (cto/rex-1 unless given)."""
    target = resource or pod()
    data: dict[str, Any] = {"resource": target.model_dump(exclude_none=True), "reason": reason}
    if message is not None:
        data["message"] = message
    body = cloudevent("healer.condition.v1", data, id=event_id, cluster=cluster, time=time)
    event: Event = EVENT_ADAPTER.validate_python(body)
    assert isinstance(event, ConditionEvent)
    return event


def alert(
    alert_id: str = "H8",
    *,
    status: AlertStatus = "firing",
    severity: Severity = "critical",
    resource: ResourceRef | None = None,
    namespace: str = "cto",
    alertname: str | None = None,
    starts_at: dt.datetime = T0,
    ends_at: dt.datetime | None = None,
    cluster: str = "default",
) -> Alert:
    """An alert as the detector publishes it, with Alertmanager-style labels."""
    target = resource or pod(namespace=namespace)
    labels = {
        "alertname": alertname or alert_id,
        "severity": severity,
        "cluster": cluster,
        "namespace": namespace,
        "pod": target.name,
    }
    return Alert(
        alert_id=alert_id,
        status=status,
        severity=severity,
        fingerprint=alert_fingerprint(alert_id, cluster, target, {"alertname": labels["alertname"]}),
        cluster=cluster,
        namespace=namespace,
        resource=target,
        labels=labels,
        starts_at=starts_at,
        ends_at=ends_at,
        time=starts_at,
    )


def incident(*alerts: Alert, state: str = "opened", revision: int = 1) -> Incident:
    """An incident holding `alerts` (one firing H8 on cto/rex-1 when none are given)."""
    held = alerts or (alert(),)
    return Incident.model_validate(
        {
            "incident_id": "inc-1",
            "state": state,
            "revision": revision,
            "title": held[0].summary(),
            "severity": held[0].severity,
            "cluster": held[0].cluster,
            "namespace": held[0].namespace,
            "group_key": "group-1",
            "alerts": [
                AlertSummary(
                    fingerprint=a.fingerprint,
                    alert_id=a.alert_id,
                    status=a.status,
                    severity=a.severity,
                    resource=a.resource,
                    labels=a.labels,
                    summary=a.summary(),
                    starts_at=a.starts_at,
                    ends_at=a.ends_at,
                )
                for a in held
            ],
            "opened_at": held[0].starts_at,
            "time": held[0].starts_at,
        }
    )


def remediation(
    state: RemediationState = "succeeded",
    *,
    dry_run: bool = False,
    alert_ids: tuple[str, ...] = ("H8",),
    finished_after_s: float | None = 42.0,
    target: ResourceRef | None = None,
) -> Remediation:
    """A restart-pod run on cto/rex-1 for incident inc-1, with one step."""
    step = RemediationStep(
        action="restart_pod",
        outcome="dry_run" if dry_run else "ok",
        detail="deleted pod cto/rex-1; its controller starts a fresh one",
        started_at=T0,
        finished_at=T0 + dt.timedelta(seconds=1),
    )
    return Remediation(
        remediation_id="rem-1",
        incident_id="inc-1",
        playbook="restart-pod",
        state=state,
        cluster="default",
        target=target or pod(),
        alert_ids=list(alert_ids),
        dry_run=dry_run,
        steps=[step],
        reason="delete the pod so its controller starts a fresh one",
        started_at=T0,
        finished_at=None if finished_after_s is None else T0 + dt.timedelta(seconds=finished_after_s),
        time=T0,
    )
