"""What the kubelet does for the pods bound to its node: pull images (or fail to: ErrImagePull, then
ImagePullBackOff, retried), start containers, restart a killed container after its CrashLoopBackOff delay,
run Job and agent pods to completion, and report it all in the pod's status and in Events, as a
collector reads them on a real node. `oom_kill` is what the kernel does to a container over its limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from healer_sandbox import kinds
from healer_sandbox.cluster import Cluster, container_statuses
from healer_sandbox.store import meta
from healer_sandbox.units import rfc3339

RUN_SECONDS = "sandbox.healer.platform/run-seconds"  # pods that run to completion after this many scenario seconds
PULL_RETRY_S = 60.0  # scenario seconds between retries of a failing image pull
TERMINAL = {"Succeeded", "Failed"}


def _condition(old: list[dict[str, Any]], kind: str, true: bool, now: dt.datetime, reason: str = "") -> dict[str, Any]:
    status = "True" if true else "False"
    previous = next((c for c in old if c.get("type") == kind), None)
    since = previous["lastTransitionTime"] if previous and previous.get("status") == status else rfc3339(now)
    found = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    return {**found, "reason": reason} if reason and not true else found


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _running(name: str, image: str, restarts: int, now: dt.datetime, last: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imageID": f"{image.split(':', maxsplit=1)[0]}@sha256:{_digest(image)}",
        "containerID": f"containerd://{_digest(f'{name}{now.isoformat()}')}",
        "ready": True,
        "started": True,
        "restartCount": restarts,
        "state": {"running": {"startedAt": rfc3339(now)}},
        "lastState": last or {},
    }


def _waiting(
    name: str, image: str, restarts: int, *, reason: str, message: str, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imageID": "",
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {"waiting": {"reason": reason, "message": message}},
        "lastState": last or {},
    }


def _pull_failure(
    cluster: Cluster, pod: dict[str, Any], spec: dict[str, Any], old: dict[str, Any] | None, now: dt.datetime
) -> dict[str, Any]:
    """ErrImagePull at first and at each retry, ImagePullBackOff in between, with the kubelet's Events."""
    key = (meta(pod)["uid"], spec["name"])
    waiting = ((old or {}).get("state") or {}).get("waiting") or {}
    retry_due = now >= cluster.restart_at.get(key, now)
    image = spec["image"]
    if waiting.get("reason") == "ImagePullBackOff" and not retry_due:
        return old or {}
    if waiting.get("reason") == "ErrImagePull":
        cluster.restart_at[key] = now + cluster.wall(PULL_RETRY_S)
        cluster.record(pod, "BackOff", f'Back-off pulling image "{image}"')
        cluster.record(pod, "Failed", "Error: ImagePullBackOff", warning=True)
        return _waiting(spec["name"], image, 0, reason="ImagePullBackOff", message=f'Back-off pulling image "{image}"')
    cluster.record(pod, "Pulling", f'Pulling image "{image}"')
    failure = (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and unpack image '
        f'"{image}": failed to resolve reference "{image}": not found'
    )
    cluster.record(pod, "Failed", failure, warning=True)
    cluster.record(pod, "Failed", "Error: ErrImagePull", warning=True)
    return _waiting(spec["name"], image, 0, reason="ErrImagePull", message=failure)


def _container(
    cluster: Cluster, pod: dict[str, Any], spec: dict[str, Any], old: dict[str, Any] | None, now: dt.datetime
) -> dict[str, Any]:
    state = (old or {}).get("state") or {}
    if "running" in state or "terminated" in state:
        return old or {}
    key = (meta(pod)["uid"], spec["name"])
    restarts = int((old or {}).get("restartCount", 0))
    if (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
        if now < cluster.restart_at.get(key, now):
            return old or {}
        cluster.restart_at.pop(key, None)
        cluster.record(pod, "Started", f"Started container {spec['name']}")
        restarted = _running(spec["name"], spec["image"], restarts, now, (old or {}).get("lastState"))
        return {**restarted, "ready": key not in cluster.crashing}  # a crashing process fails its readiness
    if spec["image"] in cluster.unpullable:
        return _pull_failure(cluster, pod, spec, old, now)
    cluster.restart_at.pop(key, None)
    cluster.record(pod, "Pulled", f'Container image "{spec["image"]}" already present on machine')
    cluster.record(pod, "Created", f"Created container {spec['name']}")
    cluster.record(pod, "Started", f"Started container {spec['name']}")
    return _running(spec["name"], spec["image"], restarts, now, None)


def _completed(status: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    began = status["state"]["running"]["startedAt"]
    terminated = {"exitCode": 0, "reason": "Completed", "startedAt": began, "finishedAt": rfc3339(now)}
    return {**status, "ready": False, "started": False, "state": {"terminated": terminated}}


def _run_is_over(cluster: Cluster, pod: dict[str, Any], statuses: list[dict[str, Any]], now: dt.datetime) -> bool:
    run_for = (meta(pod).get("annotations") or {}).get(RUN_SECONDS)
    if run_for is None or not statuses or not all("running" in s["state"] for s in statuses):
        return False
    began = min(dt.datetime.fromisoformat(s["state"]["running"]["startedAt"].replace("Z", "+00:00")) for s in statuses)
    return cluster.scenario_seconds(began, now) >= float(run_for)


def pod_status(cluster: Cluster, pod: dict[str, Any], node: dict[str, Any] | None, now: dt.datetime) -> dict[str, Any]:
    """The status the kubelet reports for a pod bound to `node`."""
    old = pod.get("status", {})
    previous = container_statuses(pod)
    statuses = [_container(cluster, pod, c, previous.get(c["name"]), now) for c in pod["spec"]["containers"]]
    phase = "Running" if all(s["started"] or s["restartCount"] for s in statuses) else "Pending"
    if _run_is_over(cluster, pod, statuses, now):
        statuses, phase = [_completed(s, now) for s in statuses], "Succeeded"
    ready = phase == "Running" and all(s["ready"] for s in statuses)
    conditions = old.get("conditions") or []
    not_ready = "" if ready else "ContainersNotReady"
    addresses = (node or {}).get("status", {}).get("addresses") or [{"address": ""}]
    pod_ip = old.get("podIP") or cluster.pod_ip()
    return {
        **old,
        "phase": phase,
        "conditions": [
            _condition(conditions, "PodScheduled", True, now),
            _condition(conditions, "Initialized", True, now),
            _condition(conditions, "ContainersReady", ready, now, not_ready),
            _condition(conditions, "Ready", ready, now, not_ready),
        ],
        "hostIP": addresses[0]["address"],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": old.get("startTime") or rfc3339(now),
        "containerStatuses": statuses,
    }


def _settled(pod: dict[str, Any]) -> bool:
    """A pod with nothing for the kubelet to do this tick (most pods, most of the time)."""
    status = pod.get("status", {})
    if status.get("phase") != "Running" or RUN_SECONDS in (meta(pod).get("annotations") or {}):
        return False
    statuses = status.get("containerStatuses") or []
    return len(statuses) == len(pod["spec"]["containers"]) and all(s.get("ready") for s in statuses)


def kubelet(cluster: Cluster, now: dt.datetime) -> None:
    """One pass of every node's kubelet over the pods bound to it (a node that is down posts nothing)."""
    nodes = {meta(n)["name"]: n for n in cluster.store.items(kinds.NODES)}
    up = {name for name, n in nodes.items() if _posting(n)}
    for pod in list(cluster.store.items(kinds.PODS)):
        node_name = pod.get("spec", {}).get("nodeName")
        if not node_name or pod.get("status", {}).get("phase") in TERMINAL or meta(pod).get("deletionTimestamp"):
            continue
        if node_name not in up:
            continue
        if _settled(pod):
            continue
        cluster.put_status(kinds.PODS, pod, pod_status(cluster, pod, nodes.get(node_name), now))


def _posting(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions") or [])


def oom_kill(cluster: Cluster, pod: dict[str, Any], container: str, now: dt.datetime) -> None:
    """The kernel kills a container over its memory limit; the kubelet restarts it after its back-off."""
    kill(cluster, pod, container, now, reason="OOMKilled", exit_code=137)


def kill(
    cluster: Cluster, pod: dict[str, Any], container: str, now: dt.datetime, *, reason: str, exit_code: int
) -> None:
    """A running container ends (`reason`, `exit_code`); the kubelet restarts it after its CrashLoopBackOff
    delay, which doubles with each restart (10 s to 5 minutes of scenario time)."""
    statuses = container_statuses(pod)
    old = statuses.get(container)
    if old is None or "running" not in (old.get("state") or {}):
        return
    restarts = int(old.get("restartCount", 0)) + 1
    back_off = min(300.0, 10.0 * 2 ** (restarts - 1))
    cluster.restart_at[(meta(pod)["uid"], container)] = now + cluster.wall(back_off)
    cluster.memory.pop((meta(pod)["uid"], container), None)
    began = old["state"]["running"]["startedAt"]
    terminated = {"exitCode": exit_code, "reason": reason, "startedAt": began, "finishedAt": rfc3339(now)}
    message = f"back-off {int(back_off)}s restarting failed container={container} pod={meta(pod)['name']}"
    statuses[container] = _waiting(
        container, old["image"], restarts, reason="CrashLoopBackOff", message=message, last={"terminated": terminated}
    )
    ordered = [statuses[c["name"]] for c in pod["spec"]["containers"] if c["name"] in statuses]
    status = {**pod["status"], "containerStatuses": ordered}
    conditions = status.get("conditions") or []
    status["conditions"] = [
        _condition(conditions, c["type"], False, now, "ContainersNotReady")
        if c["type"] in {"Ready", "ContainersReady"}
        else c
        for c in conditions
    ]
    cluster.put_status(kinds.PODS, pod, status)
    where = f"{meta(pod)['namespace']}/{meta(pod)['name']}"
    cluster.narrate(f"{where}: container {container} {reason} (exit {exit_code}, restart {restarts})")
    cluster.record(
        pod, "BackOff", f"Back-off restarting failed container {container} in pod {meta(pod)['name']}", warning=True
    )
