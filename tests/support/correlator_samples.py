"""Alerts and changes as the detector publishes them, with the topology labels the correlator reads (node,
owner, deployment, application), for the correlator's unit tests. Built through the real models.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import CATALOGUE, Alert, alert_fingerprint, alert_labels
from healer_common.contract.events import CHANGE_ADAPTER, ChangeEvent, ResourceRef
from healer_common.contract.incidents import Incident
from services.correlator.changes import ChangeRecord, change_record
from services.correlator.grouping import GroupingPolicy, group_for
from services.correlator.revision import apply_alert
from tests.support.samples import T0

POLICY = GroupingPolicy(
    group_by=("cluster", "namespace", "alertname"),
    topology=frozenset({"node", "deployment", "statefulset", "owner", "application"}),
)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def make_alert(
    alert_id: str,
    resource: ResourceRef,
    *,
    reason: str | None = None,
    labels: dict[str, str] | None = None,
    starts_at: dt.datetime = T0,
    cluster: str = "default",
) -> Alert:
    """A firing alert shaped like the detector's: catalogue severity, labels from the resource plus extras."""
    entry = CATALOGUE[alert_id]
    all_labels = {**(labels or {}), **alert_labels(alert_id, entry.severity, cluster, resource)}
    if reason:
        all_labels["reason"] = reason
    return Alert(
        alert_id=alert_id,
        status="firing",
        severity=entry.severity,
        fingerprint=alert_fingerprint(alert_id, cluster, resource, {"reason": reason or ""}),
        cluster=cluster,
        namespace=resource.namespace,
        resource=resource,
        labels=all_labels,
        annotations={"summary": f"{entry.name}: {resource} reported {reason or alert_id}"},
        starts_at=starts_at,
        time=starts_at,
    )


def pod_alert(
    name: str,
    *,
    alert_id: str = "H8",
    reason: str = "OOMKilled",
    namespace: str = "cto",
    node: str | None = None,
    deployment: str | None = None,
    application: str | None = None,
    starts_at: dt.datetime = T0,
    cluster: str = "default",
) -> Alert:
    labels = {"node": node, "deployment": deployment, "application": application}
    if deployment:
        labels |= {"owner_kind": "ReplicaSet", "owner_name": f"{deployment}-5d4f8"}
    return make_alert(
        alert_id,
        ResourceRef(kind="Pod", namespace=namespace, name=name),
        reason=reason,
        labels={k: v for k, v in labels.items() if v},
        starts_at=starts_at,
        cluster=cluster,
    )


def node_alert(node: str, reason: str = "MemoryPressure", *, starts_at: dt.datetime = T0) -> Alert:
    return make_alert("H8", ResourceRef(kind="Node", name=node), reason=reason, starts_at=starts_at)


def resolved(alert: Alert, when: dt.datetime) -> Alert:
    return alert.evolve(status="resolved", ends_at=when, event_id=f"{alert.event_id}-resolved")


def change(
    name: str,
    *,
    kind: str = "Deployment",
    namespace: str | None = "cto",
    what: str = "deploy",
    when: dt.datetime = T0,
    from_version: str = "v1.4.2",
    to_version: str = "v1.5.0",
    cluster: str = "default",
) -> ChangeRecord:
    event: ChangeEvent = CHANGE_ADAPTER.validate_python(
        {
            "specversion": "1.0",
            "id": f"change-{name}-{when.isoformat()}",
            "source": "argocd",
            "type": "healer.change.v1",
            "time": when,
            "cluster": cluster,
            "data": {
                "what": what,
                "resource": {"kind": kind, "namespace": namespace, "name": name},
                "from": from_version,
                "to": to_version,
            },
        }
    )
    return change_record(event, when)


def fold(*alerts: Alert, policy: GroupingPolicy = POLICY) -> Incident:
    """One incident holding these alerts in order (each applied as the correlator would, no joins decided)."""
    incident: Incident | None = None
    for alert in alerts:
        group = group_for(alert.labels, alert.cluster, policy)
        incident = apply_alert(incident, alert, group, alert.starts_at) or incident
    assert incident is not None
    return incident
