"""Where an alert sits in the cluster, read from the topology labels the detector copies from signals (see
healer_common.contract.signals): the node a pod runs on, its owner chain (pod -> ReplicaSet -> Deployment or
StatefulSet -> ArgoCD Application) and its namespace.

grouping.py joins alerts that share an anchor into one incident; causes.py ranks the anchors an incident's
alerts share as its likely cause. Pure: labels in, anchors out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import AlertSummary

AnchorKind = Literal["node", "deployment", "statefulset", "owner", "application", "namespace"]

# anchor kind -> (Kubernetes kind, namespaced); `owner` takes its kind from the owner_kind label.
_OBJECT: dict[str, tuple[str, bool]] = {
    "node": ("Node", False),
    "deployment": ("Deployment", True),
    "statefulset": ("StatefulSet", True),
    "owner": ("", True),
    "application": ("Application", False),
    "namespace": ("Namespace", False),
}


_LABELLED: tuple[AnchorKind, ...] = ("node", "deployment", "statefulset", "application")
OWNER_KINDS = frozenset({"ReplicaSet", "DaemonSet", "Job", "CronJob", "ReplicationController"})
APP_KINDS = frozenset({"deployment", "statefulset", "application"})


@dataclass(frozen=True, order=True)
class Anchor:
    """A cluster object several alerts can hang from; `key` is its identity across alerts."""

    kind: AnchorKind
    cluster: str
    namespace: str
    name: str
    object_kind: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.cluster}/{self.namespace}/{self.object_kind}/{self.name}"

    @property
    def app_key(self) -> str | None:
        """The same app's identity in every environment (cluster): what staging and prod have in common."""
        if self.kind not in APP_KINDS:
            return None
        return f"{self.object_kind.lower()} {self.namespace}/{self.name}" if self.namespace else str(self)

    @property
    def resource(self) -> ResourceRef:
        return ResourceRef(kind=self.object_kind, namespace=self.namespace or None, name=self.name)

    def __str__(self) -> str:
        return str(self.resource)


def _anchor(kind: AnchorKind, cluster: str, namespace: str, name: str, object_kind: str = "") -> Anchor:
    default_kind, namespaced = _OBJECT[kind]
    return Anchor(kind, cluster, namespace if namespaced else "", name, object_kind or default_kind)


def anchors_of(labels: dict[str, str], cluster: str, namespace: str | None) -> list[Anchor]:
    """Every object the alert's labels place it under, most specific first (the namespace last)."""
    ns = namespace or labels.get("namespace", "")
    found = [_anchor(k, cluster, ns, v) for k in _LABELLED if (v := labels.get(k))]
    owner_kind, owner_name = labels.get("owner_kind", ""), labels.get("owner_name", "")
    if owner_kind and owner_name and labels.get(owner_kind.lower()) != owner_name:
        found.append(_anchor("owner", cluster, ns, owner_name, owner_kind))
    if ns:
        found.append(_anchor("namespace", cluster, "", ns))
    return found


def summary_anchors(alert: AlertSummary, cluster: str) -> list[Anchor]:
    return anchors_of(alert.labels, cluster, alert.labels.get("namespace"))


def is_own(resource: ResourceRef | None, anchor: Anchor) -> bool:
    """Whether an alert on `resource` is about the anchor itself (the node's MemoryPressure), not something
    under it."""
    if resource is None or resource.kind != anchor.object_kind or resource.name != anchor.name:
        return False
    return not anchor.namespace or resource.namespace == anchor.namespace


def anchor_of_resource(cluster: str, resource: ResourceRef) -> Anchor | None:
    """The anchor a changed object stands for (a deploy of a Deployment, a sync of an Application)."""
    by_kind: dict[str, AnchorKind] = {
        "Node": "node",
        "Deployment": "deployment",
        "StatefulSet": "statefulset",
        "Application": "application",
        "Namespace": "namespace",
    }
    kind = by_kind.get(resource.kind)
    if kind == "namespace":
        return _anchor("namespace", cluster, "", resource.name)
    if kind is not None:
        return _anchor(kind, cluster, resource.namespace or "", resource.name)
    if resource.kind in OWNER_KINDS and resource.namespace:
        return _anchor("owner", cluster, resource.namespace, resource.name, resource.kind)
    if resource.namespace:  # a ConfigMap, Secret, flag ...: it can touch anything in its namespace
        return _anchor("namespace", cluster, "", resource.namespace)
    return None
