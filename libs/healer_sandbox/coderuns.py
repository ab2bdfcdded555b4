"""The agents' controller, as far as Healer sees it: a CodeRun (agents.platform/v1) goes Pending, gets its
agent pod (labelled `agent` and `task-id`), runs, and Succeeds with a pull request URL, so a remediation
that hands work to an agent sees it picked up and finished.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_sandbox import kinds, objects
from healer_sandbox.cluster import Cluster
from healer_sandbox.kubelet import RUN_SECONDS
from healer_sandbox.store import meta
from healer_sandbox.units import rfc3339

AGENT_RUN_S = 600.0  # scenario seconds an agent works on a CodeRun
AGENT_IMAGE = "ghcr.io/5dlabs/agent:latest"


def _agent_pod(coderun: dict[str, Any]) -> dict[str, Any]:
    spec = coderun.get("spec") or {}
    labels = {
        "app": "coderun",
        "coderun": meta(coderun)["name"],
        "agent": str(spec.get("githubApp") or spec.get("implementationAgent") or "5DLabs-Rex"),
        "task-id": str(spec.get("taskId", "0")),
    }
    container = objects.container(
        "agent",
        AGENT_IMAGE,
        memory_limit=2 * 2**30,
        memory_request=2**30,
        cpu_request="500m",
        env={"TASK_ID": labels["task-id"]},
    )
    template = {"metadata": {"labels": labels}, "spec": {"containers": [container], "restartPolicy": "Never"}}
    pod = objects.pod_from_template(coderun, template, f"{meta(coderun)['name']}-agent")
    runs = (meta(coderun).get("annotations") or {}).get(RUN_SECONDS, str(AGENT_RUN_S))
    pod["metadata"]["annotations"] = {RUN_SECONDS: runs}
    return pod


def _status(phase: str, message: str, now: dt.datetime, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    condition = {"type": phase, "status": "True", "lastTransitionTime": rfc3339(now), "message": message}
    return {"phase": phase, "message": message, "conditions": [condition], **(extra or {})}


def coderuns(cluster: Cluster, now: dt.datetime) -> None:
    for coderun in list(cluster.store.items(kinds.CODERUNS)):
        status = coderun.get("status") or {}
        phase = status.get("phase")
        if phase in {"Succeeded", "Failed"}:
            continue
        pods = cluster.owned(coderun, kinds.PODS)
        if not pods:
            cluster.store.create(kinds.PODS, _agent_pod(coderun))
            cluster.put_status(kinds.CODERUNS, coderun, _status("Pending", "waiting for the agent pod to start", now))
            continue
        pod_phase = pods[0].get("status", {}).get("phase")
        if pod_phase == "Running" and phase != "Running":
            cluster.put_status(
                kinds.CODERUNS, coderun, _status("Running", f"agent pod {meta(pods[0])['name']} is working", now)
            )
        elif pod_phase == "Succeeded":
            task = "".join(c for c in str((coderun.get("spec") or {}).get("taskId", "")) if c.isdigit()) or "0"
            url = f"https://github.com/5dlabs/cto/pull/{1000 + int(task) % 9000}"
            done = _status("Succeeded", "the agent opened a pull request", now, {"pullRequestUrl": url})
            cluster.put_status(kinds.CODERUNS, coderun, done)
