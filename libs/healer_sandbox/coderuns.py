"""The agents' controller, as far as Healer sees it: a CodeRun (agents.platform/v1) goes Pending, gets its
agent pod (labelled `agent` and `task-id`), runs, and Succeeds with a pull request URL, so a remediation
that hands work to an agent sees it picked up and finished. A remediation CodeRun's agent really opens that
pull request on the sandbox's GitHub (in the repository of spec.repositoryUrl), its check passes and it is
merged, so Healer can follow the hand-off to its end.

A CodeRun annotated `agents.platform/paused: "true"` is paused: its agent pod is stopped and its status says
so (condition `Paused`); once the annotation is gone a fresh agent pod takes the work up again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from healer_sandbox import kinds, objects
from healer_sandbox.cluster import Cluster
from healer_sandbox.github import pull_url
from healer_sandbox.kubelet import RUN_SECONDS
from healer_sandbox.store import meta
from healer_sandbox.units import rfc3339

AGENT_RUN_S = 600.0  # scenario seconds an agent works on a CodeRun
PAUSED = "agents.platform/paused"  # the annotation the platform's controller honours (Healer's agent coordination)
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
        if str((meta(coderun).get("annotations") or {}).get(PAUSED, "")).lower() == "true":
            _pause(cluster, coderun, pods, now)
            continue
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
            done = _status(
                "Succeeded", "the agent opened a pull request", now, {"pullRequestUrl": _pull_request(cluster, coderun)}
            )
            cluster.put_status(kinds.CODERUNS, coderun, done)


def _pause(cluster: Cluster, coderun: dict[str, Any], pods: list[dict[str, Any]], now: dt.datetime) -> None:
    """Stop the agent's pod; the run stays where it was (Pending or Running), marked Paused."""
    for pod in pods:
        cluster.store.delete(kinds.PODS, meta(pod)["namespace"], meta(pod)["name"])
    status = coderun.get("status") or {}
    if any(c.get("type") == "Paused" for c in status.get("conditions") or []):
        return
    paused = {"type": "Paused", "status": "True", "lastTransitionTime": rfc3339(now), "message": "paused"}
    message = f"paused ({PAUSED}); the agent pod is stopped until it is resumed"
    phase = status.get("phase") or "Pending"
    cluster.put_status(kinds.CODERUNS, coderun, {**status, "phase": phase, "message": message, "conditions": [paused]})
    cluster.narrate(f"CodeRun {meta(coderun)['namespace']}/{meta(coderun)['name']} paused: its agent pod is stopped")


def _pull_request(cluster: Cluster, coderun: dict[str, Any]) -> str:
    """The PR the agent opened: for a remediation, a real one on the sandbox's GitHub, checked and merged."""
    spec = coderun.get("spec") or {}
    task = "".join(c for c in str(spec.get("taskId", "")) if c.isdigit()) or "0"
    repo = str(spec.get("repositoryUrl") or "").removeprefix("https://github.com/").strip("/")
    if spec.get("runType") != "remediate" or repo.count("/") != 1:
        return f"https://github.com/5dlabs/cto/pull/{1000 + int(task) % 9000}"
    github, agent = cluster.github, str(spec.get("githubApp") or "5DLabs-Rex")
    number = github.repo(repo).next_number()
    title = f"fix: {(meta(coderun).get('labels') or {}).get('alert-type', 'incident')} remediation (task {task})"
    github.open_pull(repo, number, title, branch=f"healer/{meta(coderun)['name']}", login=agent, labels=["healer"])
    github.commit(repo, number, agent, str(spec.get("acceptanceCriteria") or "the fix")[:200])
    github.check(repo, number, "ci/test", "success")
    github.close(repo, number, merge=True)
    cluster.narrate(f"{repo}#{number}: {agent} opened the remediation PR of CodeRun {meta(coderun)['name']}; merged")
    return pull_url(repo, number)
