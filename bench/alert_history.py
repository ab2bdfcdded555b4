"""A generated alert history with planted causes, for measuring the correlator (bench/correlator.py).

A seeded random cluster (nodes, namespaces, ArgoCD Applications, Deployments and their pods, each pod on a
node) plays a sequence of problems, each with a known cause and the alerts it raises, the way the detector
would publish them (catalogue ids, topology labels, firing then resolved):

    node-pressure  a node's MemoryPressure, and OOMKilled pods on it within 2 minutes     cause: the node
    rollout        a deploy of a Deployment, then crash loops, OOMs, failing probes on
                   its pods within 1-8 minutes                                         cause: the deploy
    app-degraded   an ArgoCD Application Degraded, then failing pods of its Deployments cause: the Application
    db-backlog     a database's pool exhausted, then the backlog of queues it feeds      cause: the database
    lone           one alert on its own (certificate, image pull, PVC)                   cause: its own object

plus deploys that break nothing. Problems start at random (exponential gaps), so they overlap as they do in
a real cluster. Everything is a function of the seed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field

from healer_common.contract.alerts import CATALOGUE, Alert, alert_fingerprint, alert_labels
from healer_common.contract.events import ResourceRef

CLUSTER = "prod"
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
KINDS: dict[str, float] = {
    "node-pressure": 0.25,
    "rollout": 0.25,
    "app-degraded": 0.15,
    "db-backlog": 0.15,
    "lone": 0.2,
}


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    node: str
    deployment: str
    application: str

    @property
    def labels(self) -> dict[str, str]:
        return {
            "node": self.node,
            "deployment": self.deployment,
            "owner_kind": "ReplicaSet",
            "owner_name": f"{self.deployment}-5d9c7",
            "application": self.application,
        }

    @property
    def resource(self) -> ResourceRef:
        return ResourceRef(kind="Pod", namespace=self.namespace, name=self.name)


@dataclass
class Cluster:
    nodes: list[str]
    namespaces: list[str]
    pods: list[Pod]
    deployments: dict[tuple[str, str], str]  # (namespace, name) -> application


def build_cluster(rng: random.Random, nodes: int = 40, namespaces: int = 8, deployments: int = 60) -> Cluster:
    node_names = [f"worker-{i}" for i in range(nodes)]
    ns_names = [f"team-{i}" for i in range(namespaces)]
    apps = [f"app-{i}" for i in range(deployments // 5)]
    deployed: dict[tuple[str, str], str] = {}
    pods = []
    for i in range(deployments):
        namespace, name, app = rng.choice(ns_names), f"svc-{i}", rng.choice(apps)
        deployed[namespace, name] = app
        pods += [Pod(f"{name}-{j}", namespace, rng.choice(node_names), name, app) for j in range(rng.randint(3, 6))]
    return Cluster(node_names, ns_names, pods, deployed)


@dataclass
class Scenario:
    scenario_id: str
    kind: str
    cause: ResourceRef
    cause_is_change: bool = False


@dataclass
class History:
    alerts: list[Alert] = field(default_factory=list)
    changes: list[bytes] = field(default_factory=list)
    truth: dict[tuple[str, dt.datetime], str] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)

    @property
    def firing(self) -> int:
        return sum(1 for a in self.alerts if a.firing)


class _Writer:
    """Builds the history, keeping an alert from firing twice at once (the detector would not)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.history = History()
        self._busy_until: dict[str, dt.datetime] = {}

    def alert(self, scenario: str, alert_id: str, resource: ResourceRef, reason: str, labels: dict[str, str],
              start: dt.datetime, end: dt.datetime) -> None:  # fmt: skip
        entry = CATALOGUE[alert_id]
        all_labels = {**labels, **alert_labels(alert_id, entry.severity, CLUSTER, resource), "reason": reason}
        fingerprint = alert_fingerprint(alert_id, CLUSTER, resource, {"reason": reason})
        if self._busy_until.get(fingerprint, start) > start:
            return
        self._busy_until[fingerprint] = end
        firing = Alert(
            alert_id=alert_id,
            status="firing",
            severity=entry.severity,
            fingerprint=fingerprint,
            cluster=CLUSTER,
            namespace=resource.namespace,
            resource=resource,
            labels=all_labels,
            annotations={"summary": f"{entry.name}: {resource} reported {reason}"},
            starts_at=start,
            time=start,
        )
        resolved = firing.evolve(status="resolved", ends_at=end, time=end, event_id=f"{firing.event_id}-resolved")
        self.history.alerts += [firing, resolved]
        self.history.truth[fingerprint, start] = scenario

    def change(self, namespace: str, name: str, at: dt.datetime, cluster: str = CLUSTER) -> None:
        version = self.rng.randint(10, 99)
        self.history.changes.append(
            json.dumps(
                {
                    "specversion": "1.0",
                    "id": f"deploy-{cluster}-{namespace}-{name}-{at.timestamp()}",
                    "source": "argocd",
                    "type": "healer.change.v1",
                    "time": at.isoformat(),
                    "cluster": cluster,
                    "data": {
                        "what": "deploy",
                        "resource": {"kind": "Deployment", "namespace": namespace, "name": name},
                        "from": f"v1.{version - 1}.0",
                        "to": f"v1.{version}.0",
                    },
                }
            ).encode()
        )

    def minutes(self, low: float, high: float) -> dt.timedelta:
        return dt.timedelta(minutes=self.rng.uniform(low, high))


def _node_pressure(w: _Writer, c: Cluster, sid: str, t: dt.datetime) -> Scenario:
    node = w.rng.choice(c.nodes)
    end = t + w.minutes(5, 15)
    w.alert(sid, "H8", ResourceRef(kind="Node", name=node), "MemoryPressure", {}, t + w.minutes(0, 0.6), end)
    on_node = [p for p in c.pods if p.node == node]
    for pod in w.rng.sample(on_node, min(len(on_node), w.rng.randint(3, 12))):
        w.alert(sid, "H8", pod.resource, "OOMKilled", pod.labels, t + w.minutes(0, 2), end)
    return Scenario(sid, "node-pressure", ResourceRef(kind="Node", name=node))


def _rollout(w: _Writer, c: Cluster, sid: str, t: dt.datetime) -> Scenario:
    namespace, name = w.rng.choice(sorted(c.deployments))
    w.change(namespace, name, t)
    end = t + w.minutes(10, 20)
    pods = [p for p in c.pods if (p.namespace, p.deployment) == (namespace, name)]
    symptoms = (("A7", "CrashLoopBackOff"), ("H8", "OOMKilled"), ("H5", "ProbeFailed"))
    for pod in w.rng.sample(pods, w.rng.randint(2, len(pods))):
        alert_id, reason = w.rng.choice(symptoms)
        w.alert(sid, alert_id, pod.resource, reason, pod.labels, t + w.minutes(1, 8), end)
    return Scenario(sid, "rollout", ResourceRef(kind="Deployment", namespace=namespace, name=name), True)


def _app_degraded(w: _Writer, c: Cluster, sid: str, t: dt.datetime) -> Scenario:
    app = w.rng.choice(sorted(set(c.deployments.values())))
    end = t + w.minutes(8, 20)
    w.alert(sid, "H1", ResourceRef(kind="Application", namespace="argocd", name=app), "Degraded", {}, t, end)
    pods = [p for p in c.pods if p.application == app]
    for pod in w.rng.sample(pods, min(len(pods), w.rng.randint(2, 5))):
        w.alert(sid, "A7", pod.resource, "CrashLoopBackOff", pod.labels, t + w.minutes(0.5, 5), end)
    return Scenario(sid, "app-degraded", ResourceRef(kind="Application", namespace="argocd", name=app))


def _db_backlog(w: _Writer, c: Cluster, sid: str, t: dt.datetime) -> Scenario:
    namespace = w.rng.choice(c.namespaces)
    database = ResourceRef(kind="Database", namespace=namespace, name=f"{namespace}-db")
    end = t + w.minutes(8, 15)
    w.alert(sid, "H6", database, "PoolExhausted", {"database": database.name}, t, end)
    for i in range(w.rng.choice((1, 1, 2))):
        queue = ResourceRef(kind="Queue", namespace=namespace, name=f"{namespace}-jobs-{i}")
        w.alert(sid, "H7", queue, "Backlog", {"queue": queue.name}, t + w.minutes(1, 4), end)
    return Scenario(sid, "db-backlog", database)


def _lone(w: _Writer, c: Cluster, sid: str, t: dt.datetime) -> Scenario:
    end = t + w.minutes(5, 30)
    pick = w.rng.random()
    if pick < 0.4:
        pod = w.rng.choice(c.pods)
        w.alert(sid, "H4", pod.resource, "ImagePullBackOff", pod.labels, t, end)
        return Scenario(sid, "lone", pod.resource)
    namespace = w.rng.choice(c.namespaces)
    if pick < 0.7:
        resource = ResourceRef(kind="Certificate", namespace=namespace, name=f"tls-{w.rng.randint(0, 30)}")
        w.alert(sid, "H3", resource, "CertificateExpiring", {}, t, end)
    else:
        resource = ResourceRef(kind="PersistentVolumeClaim", namespace=namespace, name=f"data-{w.rng.randint(0, 30)}")
        w.alert(sid, "H2", resource, "PVCUsageHigh", {}, t, end)
    return Scenario(sid, "lone", resource)


PLAYS = {
    "node-pressure": _node_pressure,
    "rollout": _rollout,
    "app-degraded": _app_degraded,
    "db-backlog": _db_backlog,
    "lone": _lone,
}


def generate(alerts: int, *, seed: int = 7, mean_gap_s: float = 360.0, start: dt.datetime | None = None) -> History:
    """At least `alerts` firing alerts (each also resolved), time-ordered, with the cause of each planted."""
    rng = random.Random(seed)
    cluster = build_cluster(rng)
    writer = _Writer(rng)
    t = start or START
    names, weights = list(KINDS), list(KINDS.values())
    while writer.history.firing < alerts:
        t += dt.timedelta(seconds=rng.expovariate(1.0 / mean_gap_s))
        sid = f"s{len(writer.history.scenarios)}"
        scenario = PLAYS[rng.choices(names, weights)[0]](writer, cluster, sid, t)
        writer.history.scenarios[sid] = scenario
        if rng.random() < 0.5:  # a deploy that breaks nothing
            writer.change(*rng.choice(sorted(cluster.deployments)), t + writer.minutes(0, 30))
    writer.history.alerts.sort(key=lambda a: a.time)
    return writer.history
