"""Pods and their containers as conditions: what an SRE reads from `kubectl describe pod`, as signals.

    OOMKilled           a container's current or last termination was an OOM kill; until the kill is history
                        (`history_after_s`) the pod is not reported Ready, so one kill does not fire and
                        resolve H8 in the same second
    ImagePullBackOff,
    ErrImagePull        a container waits for an image that does not come
    CrashLoopBackOff    a container keeps crashing; labels.restarts is the sum over containers
    ContainerNotReady   the pod runs but a container is dead or not ready (A2); labels.method says how, as
                        soon as it is seen (the detector holds each method as long as it must: not_ready 30 s,
                        terminated_non_zero 60 s): terminated_non_zero (it stopped with a non-zero code),
                        non_zero_exit (it did, and has not come back ready), restart_count (>= 3 restarts),
                        not_ready, conditions_false (ContainersReady or Ready false, every container ready)
    PodRunning          phase Running; labels.since is when the pod started (A8 times agent steps from it)
    Failed, Evicted     the pod's phase is Failed (Evicted when the kubelet evicted it)
    Ready, Succeeded    the recoveries

Every condition carries the pod's topology labels (topology.py). Called by the kubernetes source for each
pod it sees and again at each resync, since an OOM kill becomes history without any change to the pod.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from healer_common.settings.collector import KubernetesSourceSettings
from services.collector.observations import Emission, Json, ObjectKey, Observation, object_key, observe, parse_time
from services.collector.sources.tracker import ConditionCache
from services.collector.topology import Topology

IMAGE_PULL = frozenset({"ImagePullBackOff", "ErrImagePull"})


@dataclass(frozen=True)
class PodRules:
    restarts_threshold: int = 3
    history_after_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: KubernetesSourceSettings) -> PodRules:
        return cls(settings.restarts_threshold, settings.history_after_s)


@dataclass(frozen=True)
class _Seen:
    """One pod as read at one moment: what each container check needs."""

    key: ObjectKey
    labels: dict[str, str]
    restarts: int
    limits: dict[str, str]
    rules: PodRules
    now: dt.datetime

    def about(self, container: str, reason: str, occurrence: str, message: str | None, **extra: str) -> Observation:
        labels = {**self.labels, "container": container, **extra}
        return observe(
            "Pod", self.key, reason, labels=labels, message=message, container=container, occurrence=occurrence
        )

    def age(self, since: dt.datetime) -> float:
        return (self.now - since).total_seconds()


def pod_observations(pod: Json, place: dict[str, str], rules: PodRules, now: dt.datetime) -> list[Observation]:
    """The conditions the pod is in now; `place` holds its topology labels."""
    key = object_key(pod)
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    labels = {"namespace": key[0], "pod": key[1], **place}
    uid = str((pod.get("metadata") or {}).get("uid", ""))
    if phase == "Failed":
        reason = "Evicted" if status.get("reason") == "Evicted" else "Failed"
        return [observe("Pod", key, reason, labels=labels, message=_failure_message(status), occurrence=uid)]
    if phase == "Succeeded":
        return [observe("Pod", key, "Succeeded", labels=labels, occurrence=uid)]
    statuses = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    seen = _Seen(key, labels, restarts, _memory_limits(pod), rules, now)
    found = [trouble for container in statuses for trouble in _container_troubles(seen, container)]
    if phase != "Running":
        return found
    found.insert(0, _running(pod, labels))
    if len(found) > 1:
        return found
    if _all_ready(status):
        occurrence = f"{restarts}@{_condition(status, 'Ready').get('lastTransitionTime', '')}"
        return [*found, observe("Pod", key, "Ready", labels=labels, occurrence=occurrence)]
    return found + _not_ready(seen, status)


def _running(pod: Json, labels: dict[str, str]) -> Observation:
    started = (pod.get("status") or {}).get("startTime") or (pod.get("metadata") or {}).get("creationTimestamp")
    since = {"since": str(started)} if started else {}
    return observe("Pod", object_key(pod), "PodRunning", labels={**labels, **since}, occurrence=str(started or ""))


def _container_troubles(seen: _Seen, container: Json) -> list[Observation]:
    """A container's troubles, the cause before its consequence: an OOM kill before the crash loop it puts the
    container in, so that the alert raised first (which names the incident) is H8; the remediator answers the
    pair with the OOM's playbook either way (services/remediator/problems.py)."""
    name = str(container.get("name", ""))
    waiting = (container.get("state") or {}).get("waiting") or {}
    reason = waiting.get("reason")
    found: list[Observation] = []
    if oom := _oom_kill(seen, container):
        limit = seen.limits.get(name)
        message = f"container {name} was OOMKilled" + (f" (limit {limit})" if limit else "")
        found.append(seen.about(name, "OOMKilled", oom, message, restarts=str(seen.restarts)))
    if reason in IMAGE_PULL:
        image = str(container.get("image", ""))
        found.append(seen.about(name, reason, image, waiting.get("message"), image=image))
    elif reason == "CrashLoopBackOff":
        occurrence = str(container.get("restartCount", 0))
        found.append(seen.about(name, reason, occurrence, waiting.get("message"), restarts=str(seen.restarts)))
    return found


def _oom_kill(seen: _Seen, container: Json) -> str | None:
    """The occurrence of the container's OOM kill, current or last; None when there is none or it is history."""
    current = (container.get("state") or {}).get("terminated") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    for terminated, is_last in ((current, False), (last, True)):
        if terminated.get("reason") != "OOMKilled":
            continue
        finished = parse_time(terminated.get("finishedAt"))
        if is_last and finished is not None and seen.age(finished) > seen.rules.history_after_s:
            return None
        return str(terminated.get("finishedAt") or f"restart-{container.get('restartCount', 0)}")
    return None


def _not_ready(seen: _Seen, status: Json) -> list[Observation]:
    """A2: the pod runs, yet a container is dead or never became ready; the method says how that was seen."""
    found = []
    for container in status.get("containerStatuses") or []:
        if method := _dead_container_method(seen, container):
            name = str(container.get("name", ""))
            message = f"container {name} is not ready ({method})"
            found.append(seen.about(name, "ContainerNotReady", method, message, method=method))
    if found:
        return found
    for kind in ("ContainersReady", "Ready"):
        condition = _condition(status, kind)
        if condition.get("status") == "False":
            message = f"pod condition {kind} is False since {condition.get('lastTransitionTime')}"
            labels = {**seen.labels, "method": "conditions_false"}
            return [observe("Pod", seen.key, "ContainerNotReady", labels=labels, message=message, occurrence=kind)]
    return []


def _dead_container_method(seen: _Seen, container: Json) -> str | None:
    if container.get("ready"):
        return None
    terminated = (container.get("state") or {}).get("terminated") or {}
    last = (container.get("lastState") or {}).get("terminated") or {}
    if terminated and int(terminated.get("exitCode") or 0) != 0:
        return "terminated_non_zero"
    if last and int(last.get("exitCode") or 0) != 0:
        return "non_zero_exit"
    if int(container.get("restartCount") or 0) >= seen.rules.restarts_threshold:
        return "restart_count"
    return "not_ready"


def _all_ready(status: Json) -> bool:
    """Every container ready and the pod not marked otherwise: when its node stops posting, the node controller
    sets the pod's Ready to False while the container statuses, last posted by the kubelet, still say ready."""
    if _condition(status, "Ready").get("status") == "False":
        return False
    containers = status.get("containerStatuses") or []
    if containers:
        return all(c.get("ready") for c in containers)
    return _condition(status, "Ready").get("status") == "True"


def _condition(status: Json, kind: str) -> Json:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), {})


def _memory_limits(pod: Json) -> dict[str, str]:
    containers = (pod.get("spec") or {}).get("containers") or []
    return {
        str(c.get("name")): str(limit)
        for c in containers
        if (limit := ((c.get("resources") or {}).get("limits") or {}).get("memory"))
    }


def _failure_message(status: Json) -> str | None:
    if message := status.get("message"):
        return str(message)
    reasons = [
        f"{c.get('name')}: {t.get('reason', 'terminated')} (exit {t.get('exitCode')})"
        for c in status.get("containerStatuses") or []
        if (t := (c.get("state") or {}).get("terminated"))
    ]
    return "; ".join(reasons) or None


def slim_pod(pod: Json) -> Json:
    """What the collector keeps of a pod between events: no managedFields, annotations or env."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    containers = [
        {"name": c.get("name"), "image": c.get("image"), "resources": c.get("resources") or {}}
        for c in spec.get("containers") or []
    ]
    volumes = [v for v in spec.get("volumes") or [] if v.get("persistentVolumeClaim")]
    return {
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "labels", "ownerReferences") if k in meta},
        "spec": {"nodeName": spec.get("nodeName"), "containers": containers, "volumes": volumes},
        "status": pod.get("status") or {},
    }


class PodTracker:
    """Pods: their conditions, and their place in the topology every other signal is labelled with."""

    def __init__(self, topology: Topology, rules: PodRules) -> None:
        self._topology = topology
        self._rules = rules
        self._cache = ConditionCache(self._evaluate, slim_pod)

    def _evaluate(self, pod: Json, now: dt.datetime) -> list[Observation]:
        return pod_observations(pod, self._topology.pod_labels(object_key(pod)), self._rules, now)

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        self._topology.observe_pod(object_key(obj), obj)
        return Emission(conditions=self._cache.observe(obj, now))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        """A pod last reported in trouble that is gone says so once, so its alerts resolve (a restarted pod's
        replacement has another name and speaks for itself); so does an agent's pod, whose end stops its workflow
        step (A1, A3, A8); any other healthy pod's departure says nothing."""
        del now
        labels = self._topology.pod_labels(key)
        self._topology.forget_pod(key)
        if not self._cache.remove(key) and "agent" not in labels:
            return Emission()
        return Emission(conditions=[observe("Pod", key, "PodDeleted", labels=labels, message="the pod is gone")])

    def keys(self) -> list[ObjectKey]:
        return list(self._cache.keys())

    def resync(self, now: dt.datetime) -> Emission:
        return Emission(conditions=self._cache.reevaluate(now))
