"""What scenarios play, one runner per kind of play in scenario.py, stepped by the world every tick with the
scenario time that has passed. Runners change the cluster the way the real cause would: a leak raises a
container's working set until the kernel kills it; a filling volume rises until a cleanup Job runs or the
volume grows; a Git push moves an Application's target; a deploy changes a Deployment's template; a bad
config crash-loops a Deployment until it is rolled out again; pods write log lines (maybe only while a
dependency is down); exporters' gauges and queues move, and ease off when their Deployment scales up.

A runner counts its play's time from `since`: the sandbox's start, or the moment a replay began it again
(`World.replay`), so a replayed scenario plays as it did the first time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from healer_sandbox import kinds
from healer_sandbox.cluster import Cluster, ContainerKey, GitHead, container_statuses, running, started_at
from healer_sandbox.kubelet import kill, oom_kill
from healer_sandbox.node_outage import NodeDownRun
from healer_sandbox.scenario import (
    ApiQuota,
    Backlog,
    CrashLoop,
    Gauge,
    LogLines,
    MemoryLeak,
    NodeDown,
    PullRequestStory,
    PvcFill,
    Rollout,
    Spec,
    SyncDrift,
)
from healer_sandbox.store import meta
from healer_sandbox.stories import ApiQuotaRun, PullRequestStoryRun
from healer_sandbox.units import parse_quantity


class Runner(Protocol):
    def step(self, cluster: Cluster, now: dt.datetime) -> None: ...


def load_share(cluster: Cluster, ref: str, base_replicas: dict[str, int]) -> float:
    """How much of its usual load each replica of a Deployment carries: declared replicas / current ones."""
    deployment = cluster.get(kinds.DEPLOYMENTS, ref)
    if deployment is None:
        return 1.0
    return base_replicas.get(ref, 1) / max(1, int(deployment["spec"].get("replicas", 1)))


def play_seconds(cluster: Cluster, since: dt.datetime | None, now: dt.datetime) -> float:
    """Scenario seconds since the play began: at the sandbox's start (`since` None), or when replayed."""
    return cluster.elapsed(now) if since is None else cluster.scenario_seconds(since, now)


@dataclass
class MemoryLeakRun:
    """Each running container's working set: `start` when it (re)starts, plus what it has leaked since, at
    `per_minute` times its share of the load while the leak lasts; over `oom_at`, the kernel kills it."""

    spec: MemoryLeak
    base_replicas: dict[str, int]
    since: dt.datetime | None = None
    last: float | None = None  # play seconds at the previous step
    began: dict[ContainerKey, dt.datetime] = field(default_factory=dict)  # each container's run, as last seen

    def leaking_minutes(self, start: float, end: float) -> float:
        """Scenario minutes of the play-time interval [start, end] during which the leak runs."""
        stop = end if self.spec.lasts is None else min(end, self.spec.lasts)
        return max(0.0, stop - max(0.0, start)) / 60

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        played = play_seconds(cluster, self.since, now)
        previous, self.last = (played if self.last is None else self.last), played
        deployment = cluster.get(kinds.DEPLOYMENTS, self.spec.deployment)
        if deployment is None:
            return
        rate = self.spec.per_minute * load_share(cluster, self.spec.deployment, self.base_replicas)
        seen: dict[ContainerKey, dt.datetime] = {}
        for pod in cluster.pods_of_deployment(deployment):
            if not running(pod):
                continue
            for name, status in container_statuses(pod).items():
                began = started_at(status)
                if began is None:
                    continue
                key = (meta(pod)["uid"], name)
                seen[key] = began
                if self.began.get(key) != began or key not in cluster.memory:  # (re)started, or first seen
                    since_start = played - cluster.scenario_seconds(began, now)
                    ratio = self.spec.start + rate * self.leaking_minutes(since_start, played)
                else:
                    ratio = cluster.memory[key] + rate * self.leaking_minutes(previous, played)
                cluster.memory[key] = ratio
                if ratio >= self.spec.oom_at:
                    oom_kill(cluster, pod, name, now)
        self.began = seen


def _mounts(job: dict[str, Any], claim: str) -> bool:
    volumes = job.get("spec", {}).get("template", {}).get("spec", {}).get("volumes") or []
    return any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in volumes)


def _complete(job: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Complete" and c.get("status") == "True" for c in job.get("status", {}).get("conditions") or []
    )


@dataclass
class PvcFillRun:
    spec: PvcFill
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    base: float = -1.0  # usage at `rebased_at` (play seconds)
    rebased_at: float = 0.0
    capacity: float = 0.0
    cleaned: set[str] = field(default_factory=set)

    def _rebase(self, cluster: Cluster, now: dt.datetime, usage: float) -> None:
        self.base, self.rebased_at = usage, play_seconds(cluster, self.since, now)

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        pvc = cluster.get(kinds.PVCS, self.spec.pvc)
        if pvc is None:
            return
        if self.base < 0:  # the play (re)starts: Jobs that ran before it cleaned an earlier fill
            self._rebase(cluster, now, self.spec.start)
            self.cleaned |= {meta(job)["uid"] for job in cluster.store.items(kinds.JOBS, meta(pvc)["namespace"])}
        usage = self.usage(cluster, now)
        capacity = parse_quantity(pvc.get("status", {}).get("capacity", {}).get("storage", "1"))
        if self.capacity and capacity != self.capacity:  # expanded: the same bytes over more room
            self._rebase(cluster, now, usage * self.capacity / capacity)
        self.capacity = capacity
        for job in cluster.store.items(kinds.JOBS, meta(pvc)["namespace"]):
            if meta(job)["uid"] not in self.cleaned and _complete(job) and _mounts(job, meta(pvc)["name"]):
                self.cleaned.add(meta(job)["uid"])
                self._rebase(cluster, now, min(usage, self.spec.cleanup_to))
                cluster.narrate(f"{self.spec.pvc}: cleaned by Job {meta(job)['name']}, {self.spec.cleanup_to:.0%} used")
        cluster.pvc_usage[self.spec.pvc] = self.usage(cluster, now)

    def usage(self, cluster: Cluster, now: dt.datetime) -> float:
        grown = self.base + self.spec.per_minute * (play_seconds(cluster, self.since, now) - self.rebased_at) / 60
        return min(self.spec.max, grown)


@dataclass
class SyncDriftRun:
    spec: SyncDrift
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    done: bool = False

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        if not self.done and play_seconds(cluster, self.since, now) >= self.spec.at:
            cluster.git_heads[self.spec.application] = GitHead(
                self.spec.target_revision, self.spec.behind, self.spec.degraded
            )
            self.done = True
            cluster.narrate(
                f"{self.spec.application}: Git moved to {self.spec.target_revision}, {self.spec.behind} commits ahead"
            )


@dataclass
class RolloutRun:
    spec: Rollout
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    done: bool = False

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        if self.done or play_seconds(cluster, self.since, now) < self.spec.at:
            return
        self.done = True
        deployment = cluster.get(kinds.DEPLOYMENTS, self.spec.deployment)
        if deployment is None:
            return
        template = deployment["spec"]["template"]
        first, *others = template["spec"]["containers"]
        env = {e["name"]: e.get("value", "") for e in first.get("env") or []} | self.spec.env
        changed = {
            **first,
            "image": self.spec.image or first["image"],
            "env": [{"name": k, "value": v} for k, v in env.items()],
        }
        if self.spec.image and not self.spec.pullable:
            cluster.unpullable.add(self.spec.image)
        spec = {
            **deployment["spec"],
            "template": {**template, "spec": {**template["spec"], "containers": [changed, *others]}},
        }
        cluster.store.write(kinds.DEPLOYMENTS, {**deployment, "spec": spec})
        cluster.narrate(f"{self.spec.deployment}: rolled out image {changed['image']} env {self.spec.env or '{}'}")


@dataclass
class CrashLoopRun:
    spec: CrashLoop
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    template: str | None = None  # the template that crashes; a rollout to another one ends it

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        deployment = cluster.get(kinds.DEPLOYMENTS, self.spec.deployment)
        if deployment is None or play_seconds(cluster, self.since, now) < self.spec.at:
            return
        if self.template is None:
            self.template = cluster.template_hash(deployment)
            cluster.narrate(f"{self.spec.deployment}: its containers start crashing (exit {self.spec.exit_code})")
        for pod in cluster.pods_of_deployment(deployment):
            crashing = (meta(pod).get("labels") or {}).get("pod-template-hash") == self.template
            for name, status in container_statuses(pod).items():
                key = (meta(pod)["uid"], name)
                if not crashing:
                    cluster.crashing.discard(key)
                    continue
                cluster.crashing.add(key)
                began = started_at(status)
                if began is not None and cluster.scenario_seconds(began, now) >= self.spec.after:
                    kill(cluster, pod, name, now, reason="Error", exit_code=self.spec.exit_code)


def _env(pod: dict[str, Any]) -> dict[str, str]:
    first = pod["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in first.get("env") or []}


@dataclass
class LogLinesRun:
    spec: LogLines
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    owed: dict[str, float] = field(default_factory=dict)
    written: int = 0
    last: float = -1.0

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        elapsed = play_seconds(cluster, self.since, now)
        passed, self.last = (elapsed - self.last if self.last >= 0 else 0.0), elapsed
        deployment = cluster.get(kinds.DEPLOYMENTS, self.spec.deployment)
        if deployment is None or elapsed < self.spec.at or not self._dependency_down(cluster):
            return
        for pod in cluster.pods_of_deployment(deployment):
            env = _env(pod)
            if not running(pod) or any(env.get(k) != v for k, v in self.spec.when_env.items()):
                continue
            uid = meta(pod)["uid"]
            self.owed[uid] = self.owed.get(uid, 0.0) + self.spec.per_minute * passed / 60
            while self.owed[uid] >= 1:
                self.owed[uid] -= 1
                self._write(cluster, pod, now)

    def _dependency_down(self, cluster: Cluster) -> bool:
        """True without a `while_down`; else whether that Deployment has no ready replica."""
        if self.spec.while_down is None:
            return True
        dependency = cluster.get(kinds.DEPLOYMENTS, self.spec.while_down)
        return int((dependency or {}).get("status", {}).get("readyReplicas", 0)) == 0

    def _write(self, cluster: Cluster, pod: dict[str, Any], now: dt.datetime) -> None:
        text = self.spec.lines[self.written % len(self.spec.lines)]
        for key, value in (
            ("{pod}", meta(pod)["name"]),
            ("{namespace}", meta(pod)["namespace"]),
            ("{n}", str(self.written)),
        ):
            text = text.replace(key, value)
        cluster.log(pod, pod["spec"]["containers"][0]["name"], text, self.spec.level, now)
        self.written += 1


def _label_set(spec: Gauge) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(spec.labels.items()))


@dataclass
class GaugeRun:
    spec: Gauge
    base_replicas: dict[str, int]
    since: dt.datetime | None = None

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        spec = self.spec
        moved = spec.per_minute * max(0.0, play_seconds(cluster, self.since, now) - spec.at) / 60
        value = min(spec.max, max(spec.min, spec.start + moved))
        if spec.shared_by:
            value *= load_share(cluster, spec.shared_by, self.base_replicas)
        cluster.gauges[(spec.signal, _label_set(spec))] = value


@dataclass
class BacklogRun:
    spec: Backlog
    base_replicas: dict[str, int] = field(default_factory=dict)
    since: dt.datetime | None = None
    depth: float = -1.0
    last: float = 0.0

    def step(self, cluster: Cluster, now: dt.datetime) -> None:
        elapsed = play_seconds(cluster, self.since, now)
        if self.depth < 0:
            self.depth, self.last = self.spec.start, elapsed
        passed, self.last = elapsed - self.last, elapsed
        consumers = cluster.get(kinds.DEPLOYMENTS, self.spec.consumers)
        working = int((consumers or {}).get("status", {}).get("readyReplicas", 0))
        if elapsed >= self.spec.at:
            net = self.spec.per_minute - self.spec.drain_per_replica * working
            self.depth = min(self.spec.max, max(self.spec.min, self.depth + net * passed / 60))
        cluster.gauges[(self.spec.signal, _label_set(self.spec))] = self.depth


RUNNERS: dict[type[Spec], Any] = {
    MemoryLeak: MemoryLeakRun,
    PvcFill: PvcFillRun,
    SyncDrift: SyncDriftRun,
    Rollout: RolloutRun,
    CrashLoop: CrashLoopRun,
    LogLines: LogLinesRun,
    Gauge: GaugeRun,
    Backlog: BacklogRun,
    PullRequestStory: PullRequestStoryRun,
    ApiQuota: ApiQuotaRun,
    NodeDown: NodeDownRun,
}


def runner(play: Spec, base_replicas: dict[str, int], since: dt.datetime | None = None) -> Runner:
    """The runner of a play, by its kind (scenario.PlayEntry lists the same kinds), its time counted from
    `since` (None: the sandbox's start)."""
    made: Runner = RUNNERS[type(play)](play, base_replicas, since=since)
    return made
