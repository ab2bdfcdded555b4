"""A node that goes down, as a real one does: its kubelet stops posting status (Ready turns Unknown: "Kubelet
stopped posting node status"), or it reports NotReady; the node lifecycle controller marks its pods not ready
(Ready and ContainersReady False, reason NodeNotReady); no new pod is scheduled there; the kubelet there stops
updating its pods. When the outage ends the node is Ready again and its pods report as they are.

Draining it (Healer's cordon and drain, after approval) evicts its pods, and their ReplicaSets start them on a
node that is up. Stepped by the world like every play (plays.RUNNERS).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from healer_sandbox import kinds
from healer_sandbox.cluster import Cluster
from healer_sandbox.kubelet import pod_status
from healer_sandbox.scenario import NodeDown
from healer_sandbox.units import rfc3339

DOWN = {
    True: ("Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status."),
    False: ("False", "KubeletNotReady", "container runtime network not ready: NetworkReady=false"),
}


def node_is_ready(node: dict[str, Any] | None) -> bool:
    conditions = (node or {}).get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def _with_ready(node: dict[str, Any], status: str, reason: str, message: str, now: dt.datetime) -> dict[str, Any]:
    stamp = rfc3339(now)
    changed = {"status": status, "reason": reason, "message": message}
    changed |= {"lastTransitionTime": stamp, "lastHeartbeatTime": stamp}
    conditions = [{**c, **changed} if c["type"] == "Ready" else c for c in node["status"].get("conditions") or []]
    return {**node["status"], "conditions": conditions}


def _pods_on(cluster: Cluster, node: str) -> list[dict[str, Any]]:
    return [p for p in cluster.store.items(kinds.PODS) if p["spec"].get("nodeName") == node]


def _marked_not_ready(pod: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    status = pod.get("status", {})
    conditions = [
        {**c, "status": "False", "reason": "NodeNotReady", "lastTransitionTime": rfc3339(now)}
        if c["type"] in {"Ready", "ContainersReady"} and c["status"] == "True"
        else c
        for c in status.get("conditions") or []
    ]
    return {**status, "conditions": conditions}


@dataclass
class NodeDownRun:
    spec: NodeDown
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    down: bool = False

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        elapsed = cluster.elapsed(now) if self.since is None else cluster.scenario_seconds(self.since, now)
        down = self.spec.at <= elapsed < self.spec.at + self.spec.lasts
        node = cluster.get(kinds.NODES, self.spec.node)
        if node is None or down == self.down:
            return
        self.down = down
        if down:
            status, reason, message = DOWN[self.spec.kubelet_stopped]
            node = cluster.put_status(kinds.NODES, node, _with_ready(node, status, reason, message, now))
            for pod in _pods_on(cluster, self.spec.node):
                cluster.put_status(kinds.PODS, pod, _marked_not_ready(pod, now))
            cluster.narrate(f"node {self.spec.node}: {message.rstrip('.')}; its pods are not ready")
            return
        node = cluster.put_status(
            kinds.NODES, node, _with_ready(node, "True", "KubeletReady", "kubelet is posting", now)
        )
        for pod in _pods_on(cluster, self.spec.node):
            cluster.put_status(kinds.PODS, pod, pod_status(cluster, pod, node, now))
        cluster.narrate(f"node {self.spec.node}: Ready again")
