"""What the A-series workflow rules (A1, A3, A4, A5) share: who an author or a pod is in the agents' order,
and what an alert about a workflow targets and carries.

An alert about an agent's pod targets that pod; one about a PR targets the agent pod that last worked on its
task when there is one (so the GitHub issue is titled after it, as today's Healer does), else the PR. Either
way it carries the task, the repository, the PR number and its URL, and never the pod's node or owner: a
workflow gone wrong is not a node's problem, and must not be grouped with one.
"""

from __future__ import annotations

from healer_common.contract.events import ResourceRef
from services.detector.workflow_facts import AgentPod, PullFacts, TaskWorkflow


def agent_name(text: str, order: list[list[str]]) -> str | None:
    """The agent an author login or a pod's agent label names (`5DLabs-Cleo[bot]` -> cleo), if any."""
    lowered = text.lower()
    return next((name for step in order for name in step if name in lowered), None)


def step_of(agent: str, order: list[list[str]]) -> int | None:
    """The agent's place in the order (0 for Rex and Blaze), or None for an agent outside it."""
    found = agent_name(agent, order)
    return next((index for index, step in enumerate(order) if found in step), None) if found else None


def pull_labels(pull: PullFacts, workflow: TaskWorkflow) -> dict[str, str]:
    labels = {"repo": pull.repo, "pr": pull.number, "pr_url": pull.url}
    if workflow.task:
        labels["task-id"] = workflow.task
    return {k: v for k, v in labels.items() if v}


def on_pod(pod: AgentPod, pull: PullFacts | None, workflow: TaskWorkflow) -> tuple[ResourceRef, dict[str, str]]:
    """An alert about `pod` (and the PR its task works on)."""
    labels = {"agent": pod.agent, **(pull_labels(pull, workflow) if pull else {})}
    if workflow.task:
        labels["task-id"] = workflow.task
    return ResourceRef(kind="Pod", namespace=pod.namespace, name=pod.name), labels


def on_pull(pull: PullFacts, workflow: TaskWorkflow) -> tuple[ResourceRef, dict[str, str]]:
    """An alert about a PR: aimed at the agent pod that last worked on its task, else at the PR."""
    pod = workflow.latest_pod()
    if pod is not None:
        return on_pod(pod, pull, workflow)
    return ResourceRef(kind="PullRequest", name=pull.name), pull_labels(pull, workflow)
