"""Which incident an alert belongs to.

Three ways in, tried in this order:

1. **Its own incident**: an alert already held (a repeat, a redelivery, its resolution) goes back to it.
2. **Same group labels**, the way Alertmanager users know: alerts with equal values of `group_by` (in one
   cluster) share an incident while it is open.
3. **Same place in the cluster** (topology.py): an alert joins an open incident whose firing alerts share its
   Deployment, StatefulSet or owner; or its node or ArgoCD Application when that object is itself alerting,
   or when their alerts started within `window` of each other. So a node under memory pressure and the
   twenty pods OOMKilled on it are one incident, whatever namespaces the pods are in, while a pod that
   merely shares a node with an hour-old problem is not.
4. **A learned link** (cooccurrence.py): an alert of type B joins the open incident in its namespace that
   holds a firing A, when B has followed A often and far more than chance (a failing database, then the
   queue backlog it causes).

The correlator looks up candidate incidents by the `lookup_fields` of the alert in an index that
`index_fields` maintains; `choose_incident` decides. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.messages import Labels, stable_id
from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type
from services.correlator.topology import Anchor, AnchorKind, anchors_of, is_own, summary_anchors

BROAD: frozenset[AnchorKind] = frozenset({"node", "application"})
TIMED: frozenset[AnchorKind] = frozenset({"node"})


@dataclass(frozen=True)
class GroupingPolicy:
    group_by: tuple[str, ...]
    topology: frozenset[AnchorKind] = frozenset()
    links: LinkThresholds | None = None
    window: dt.timedelta = dt.timedelta(minutes=3)


@dataclass(frozen=True)
class Group:
    key: str
    labels: dict[str, str]


@dataclass(frozen=True)
class Join:
    incident: Incident
    why: str


def group_for(labels: Labels, cluster: str, policy: GroupingPolicy) -> Group:
    """The label group; the cluster is always part of it, whatever `group_by` says (state is per cluster)."""
    values = {name: labels.get(name, "") for name in policy.group_by}
    return Group(stable_id(cluster, *sorted(values.items()))[:16], values)


def group_of(alert: Alert, policy: GroupingPolicy) -> tuple[str, dict[str, str]]:
    group = group_for(alert.labels, alert.cluster, policy)
    return group.key, group.labels


def _joining_anchors(labels: Labels, cluster: str, namespace: str | None, policy: GroupingPolicy) -> list[Anchor]:
    return [a for a in anchors_of(labels, cluster, namespace) if a.kind in policy.topology]


def _namespace_field(cluster: str, namespace: str | None) -> str | None:
    return f"namespace:{cluster}/{namespace}" if namespace else None


def lookup_fields(alert: Alert, policy: GroupingPolicy) -> list[str]:
    """Index fields that may point at the incident this alert belongs to, most direct first."""
    fields = [f"alert:{alert.fingerprint}", f"group:{group_of(alert, policy)[0]}"]
    fields += [a.key for a in _joining_anchors(alert.labels, alert.cluster, alert.namespace, policy)]
    if policy.links is not None and (ns := _namespace_field(alert.cluster, alert.namespace)):
        fields.append(ns)
    return fields


def index_fields(incident: Incident, policy: GroupingPolicy) -> list[str]:
    """The fields that should point at this incident: each alert, each group, and the firing alerts' places;
    for a resolved incident, every field any of its alerts could have set (so that all are cleared)."""
    fields = {f"alert:{a.fingerprint}" for a in incident.alerts}
    fields |= {f"group:{group_for(a.labels, incident.cluster, policy).key}" for a in incident.alerts}
    placed = incident.alerts if incident.state == "resolved" else incident.firing_alerts
    for alert in placed:
        namespace = alert.labels.get("namespace")
        fields |= {a.key for a in _joining_anchors(alert.labels, incident.cluster, namespace, policy)}
        if policy.links is not None and (ns := _namespace_field(incident.cluster, namespace)):
            fields.add(ns)
    return sorted(fields)


def _near(incident: Incident, anchor: Anchor, alert: Alert, window: dt.timedelta) -> bool:
    """Whether the alert belongs with the incident's firing alerts under `anchor`.

    Pods of one workload (Deployment, StatefulSet, owner) failing together are one problem. A node or an
    Application is broader: sharing it joins only when the incident holds its own alert (the node's
    MemoryPressure, the Application Degraded), or, for a node, when the alerts on it started within `window`
    of each other (twenty pods OOMKilled in two minutes, the node's alert among them). An Application's
    Deployments spread over the cluster, so time alone does not join them.
    """
    under = [a for a in incident.firing_alerts if anchor in summary_anchors(a, incident.cluster)]
    if not under or anchor.kind not in BROAD:
        return bool(under)
    if any(is_own(a.resource, anchor) for a in under):
        return True
    return anchor.kind in TIMED and any(abs(a.starts_at - alert.starts_at) <= window for a in under)


def _linked(alert: Alert, firing: Iterable[AlertSummary], links: LinkStats, thresholds: LinkThresholds) -> str | None:
    effect = alert_type(alert.labels)
    for cause in sorted({alert_type(a.labels) for a in firing}):
        link = links.link(cause, effect)
        if thresholds.joins(link) and link is not None:
            return f"{cause} usually precedes {effect} ({link.confidence:.0%}, {link.lift:.1f}x chance)"
    return None


def _first(found: Mapping[str, Sequence[Incident]], field: str) -> Incident | None:
    return next(iter(found.get(field, ())), None)


def choose_incident(
    alert: Alert, policy: GroupingPolicy, found: Mapping[str, Sequence[Incident]], links: LinkStats
) -> Join | None:
    """The open incident the alert joins, and why; None opens a new one (or ignores a stray resolve).

    `found` holds, per lookup field, the open incidents the index points at (oldest first)."""
    if (own := _first(found, f"alert:{alert.fingerprint}")) is not None:
        return Join(own, "the same alert")
    if not alert.firing:
        return None
    key, labels = group_of(alert, policy)
    if (same := _first(found, f"group:{key}")) is not None:
        return Join(same, "the same " + ", ".join(f"{k}={v}" for k, v in labels.items() if v))
    for anchor in _joining_anchors(alert.labels, alert.cluster, alert.namespace, policy):
        for near in found.get(anchor.key, ()):
            if _near(near, anchor, alert, policy.window):
                return Join(near, f"the same {anchor.kind} {anchor.name}")
    ns = _namespace_field(alert.cluster, alert.namespace)
    for neighbour in found.get(ns, ()) if ns and policy.links is not None else ():
        here = [a for a in neighbour.firing_alerts if a.labels.get("namespace") == alert.namespace]
        if policy.links is not None and (why := _linked(alert, here, links, policy.links)):
            return Join(neighbour, why)
    return None
