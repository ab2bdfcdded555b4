"""Which incident an alert belongs to.

Three ways in, tried in this order:

1. **Its own incident**: an alert already held (a repeat, a redelivery, its resolution) goes back to it.
2. **Same group labels**, the way Alertmanager users know: alerts with equal values of `group_by` (in one
   cluster) share an incident while it is open.
3. **Same place in the cluster** (topology.py): an alert joins an open incident whose firing alerts share its
   node, Deployment, StatefulSet, owner or ArgoCD Application. So a node under memory pressure and the
   twenty pods OOMKilled on it are one incident, whatever namespaces the pods are in.
4. **A learned link** (cooccurrence.py): an alert of type B joins the open incident in its namespace that
   holds a firing A, when B has followed A often and far more than chance (a failing database, then the
   queue backlog it causes).

The correlator looks up candidate incidents by the `lookup_fields` of the alert in an index that
`index_fields` maintains; `choose_incident` decides. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from healer_common.alerts import Alert
from healer_common.incidents import AlertSummary, Incident
from healer_common.messages import Labels, stable_id
from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type
from services.correlator.topology import Anchor, AnchorKind, anchors_of, summary_anchors


@dataclass(frozen=True)
class GroupingPolicy:
    group_by: tuple[str, ...]
    topology: frozenset[AnchorKind] = frozenset()
    links: LinkThresholds | None = None


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


def _shares(incident: Incident, anchor: Anchor) -> bool:
    return any(anchor in summary_anchors(a, incident.cluster) for a in incident.firing_alerts)


def _linked(alert: Alert, firing: Iterable[AlertSummary], links: LinkStats, thresholds: LinkThresholds) -> str | None:
    effect = alert_type(alert.labels)
    for cause in sorted({alert_type(a.labels) for a in firing}):
        link = links.link(cause, effect)
        if thresholds.joins(link) and link is not None:
            return f"{cause} usually precedes {effect} ({link.confidence:.0%}, {link.lift:.1f}x chance)"
    return None


def choose_incident(
    alert: Alert, policy: GroupingPolicy, found: Mapping[str, Incident], links: LinkStats
) -> Join | None:
    """The open incident the alert joins, and why; None opens a new one (or ignores a stray resolve)."""
    own = found.get(f"alert:{alert.fingerprint}")
    if own is not None:
        return Join(own, "the same alert")
    if not alert.firing:
        return None
    key, labels = group_of(alert, policy)
    if (same := found.get(f"group:{key}")) is not None:
        return Join(same, "the same " + ", ".join(f"{k}={v}" for k, v in labels.items() if v))
    for anchor in _joining_anchors(alert.labels, alert.cluster, alert.namespace, policy):
        if (near := found.get(anchor.key)) is not None and _shares(near, anchor):
            return Join(near, f"the same {anchor.kind} {anchor.name}")
    ns = _namespace_field(alert.cluster, alert.namespace)
    neighbour = found.get(ns) if ns and policy.links is not None else None
    if neighbour is not None and policy.links is not None:
        why = _linked(alert, neighbour.firing_alerts, links, policy.links)
        return Join(neighbour, why) if why else None
    return None
