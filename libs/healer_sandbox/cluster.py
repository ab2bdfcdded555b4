"""The simulated cluster's state beyond its objects, and the helpers every controller and play shares.

Objects live in the store; what a real cluster knows elsewhere lives here: containers' working sets
(cAdvisor), containers waiting out a crash back-off (kubelet), volume usage (the filesystem), gauges of
databases and queues (exporters), the Git heads Argo CD compares with, images that do not exist in the
registry, the logs pods write, and GitHub (github.py). Scenario time runs `speed` times faster than the clock.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kmock

from healer_common.clock import Clock
from healer_sandbox import kinds, objects
from healer_sandbox.github import GitHub
from healer_sandbox.logs import LogStore
from healer_sandbox.store import ObjectStore, meta

LabelSet = tuple[tuple[str, str], ...]
MAX_STREAMS = 10_000  # label dicts of log streams kept for reuse
ContainerKey = tuple[str, str]  # (pod uid, container name)


@dataclass(frozen=True)
class GitHead:
    """Where an Application's Git target stands: the revision and how many commits it is ahead."""

    revision: str
    behind: int
    degraded: bool = False


@dataclass
class Cluster:
    store: ObjectStore
    clock: Clock
    speed: float
    logs: LogStore
    started: dt.datetime = field(init=False)
    quiet: bool = False  # while provisioning: no Events, as for a cluster that has been up for days
    unpullable: set[str] = field(default_factory=set)
    memory: dict[ContainerKey, float] = field(default_factory=dict)
    restart_at: dict[ContainerKey, dt.datetime] = field(default_factory=dict)
    crashing: set[ContainerKey] = field(default_factory=set)  # containers that crash soon after each start
    pvc_usage: dict[str, float] = field(default_factory=dict)
    gauges: dict[tuple[str, LabelSet], float] = field(default_factory=dict)
    git_heads: dict[str, GitHead] = field(default_factory=dict)
    narrate: Callable[[str], None] = field(default=lambda _: None)  # tells the operator what the scenarios do
    github: GitHub = field(init=False)  # the repositories the agents work through
    _hashes: dict[tuple[str, int], str] = field(default_factory=dict)
    _streams: dict[tuple[str, str, str], dict[str, str]] = field(default_factory=dict)
    _ips: itertools.count[int] = field(default_factory=lambda: itertools.count(2))

    def __post_init__(self) -> None:
        self.started = self.clock.now()
        self.github = GitHub(self.clock)

    # time ------------------------------------------------------------------------------------------------
    def elapsed(self, now: dt.datetime) -> float:
        """Scenario seconds since the sandbox started."""
        return (now - self.started).total_seconds() * self.speed

    def scenario_seconds(self, since: dt.datetime, now: dt.datetime) -> float:
        return max(0.0, (now - since).total_seconds() * self.speed)

    def wall(self, scenario_seconds: float) -> dt.timedelta:
        """How long `scenario_seconds` take on the clock."""
        return dt.timedelta(seconds=scenario_seconds / self.speed)

    # reading ---------------------------------------------------------------------------------------------
    def get(self, resource: kmock.resource, ref: str) -> dict[str, Any] | None:
        namespace, _, name = ref.rpartition("/")
        return self.store.get(resource, namespace or None, name)

    def owned(self, owner: dict[str, Any], resource: kmock.resource) -> list[dict[str, Any]]:
        return [obj for key, obj in self.store.owned_by(meta(owner).get("uid", "")) if key[0] == resource]

    def template_hash(self, deployment: dict[str, Any]) -> str:
        """The Deployment's pod-template-hash, computed once per generation (the template only changes with it)."""
        key = (meta(deployment)["uid"], int(meta(deployment).get("generation", 1)))
        if key not in self._hashes:
            self._hashes[key] = objects.template_hash(deployment["spec"]["template"])
        return self._hashes[key]

    def pods_of_deployment(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return [pod for rs in self.owned(deployment, kinds.REPLICASETS) for pod in self.owned(rs, kinds.PODS)]

    # writing ---------------------------------------------------------------------------------------------
    def put(self, resource: kmock.resource, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """Write `new` unless it equals `old`: controllers call this every tick, watchers see only changes."""
        if new == old:
            return old
        return self.store.write(resource, new)

    def put_status(self, resource: kmock.resource, obj: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
        return self.put(resource, obj, {**obj, "status": status})

    def record(
        self, involved: dict[str, Any], reason: str, message: str, *, warning: bool = False, component: str = "kubelet"
    ) -> None:
        """An Event about `involved`; a repeat of the same one counts up, as the event recorder does."""
        if self.quiet:
            return
        now = self.clock.now()
        fresh = objects.event(involved, reason, message, now, warning=warning, component=component)
        found = self.store.get(kinds.EVENTS, meta(fresh)["namespace"], meta(fresh)["name"])
        if found is None:
            self.store.create(kinds.EVENTS, fresh)
        else:
            stamp = fresh["lastTimestamp"]
            self.store.write(kinds.EVENTS, {**found, "count": int(found.get("count", 1)) + 1, "lastTimestamp": stamp})

    def pod_ip(self) -> str:
        return str(ipaddress.ip_address("10.244.0.0") + next(self._ips))

    def log(self, pod: dict[str, Any], container: str, line: str, level: str, now: dt.datetime) -> None:
        """A line as a log shipper labels it: namespace, pod, container, app, job, node_name, level. Lines of
        one stream share one label dict, so a long run's logs cost their text, not their labels."""
        key = (meta(pod)["uid"], container, level)
        stream = self._streams.get(key)
        if stream is None:
            if len(self._streams) > MAX_STREAMS:
                self._streams.clear()
            app = (meta(pod).get("labels") or {}).get("app", meta(pod)["name"])
            stream = self._streams[key] = {
                "namespace": meta(pod)["namespace"],
                "pod": meta(pod)["name"],
                "container": container,
                "app": app,
                "job": f"{meta(pod)['namespace']}/{app}",
                "node_name": pod.get("spec", {}).get("nodeName", ""),
                "level": level,
            }
        self.logs.add(int(now.timestamp() * 1_000_000_000), stream, line)


def running(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") == "Running" and not meta(pod).get("deletionTimestamp")


def container_statuses(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod.get("status", {}).get("containerStatuses") or []}


def started_at(status: dict[str, Any]) -> dt.datetime | None:
    """When a container's current run began, or None when it is not running."""
    running_state = (status.get("state") or {}).get("running")
    if not running_state or not running_state.get("startedAt"):
        return None
    return dt.datetime.fromisoformat(running_state["startedAt"].replace("Z", "+00:00"))


def ref_of(obj: dict[str, Any]) -> str:
    return f"{meta(obj).get('namespace')}/{meta(obj)['name']}"
