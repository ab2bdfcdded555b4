"""What the detector knows of one agent workflow: a task's pull requests (their comments, reviews, commits and
checks, from the github source) and the agent pods working on it (from the kubernetes source), joined by the
task id both carry (`task-id`). The A-series rules A1, A3, A4 and A5 judge this (rules/a1_... a5_...).

    PullRequestOpen / Closed     the PR's head, last commit time, open or merged
    PullRequestComment           who said what, when (a review's state too)
    CheckFailed / CheckPassed    each check's latest conclusion on the head
    PodRunning (labels.agent)    an agent pod began (labels.since); Succeeded, Failed, PodDeleted end it

A PR without a task id is a workflow of its own (A4 and A5 need no pod). Pure: `fold` applies one condition
event; workflows.py evaluates the rules; adapters/workflow_store.py keeps workflows in Redis.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ConditionEvent

PR_REASONS = frozenset({"PullRequestOpen", "PullRequestClosed", "PullRequestComment", "CheckFailed", "CheckPassed"})
POD_START = "PodRunning"
POD_ENDS = frozenset({"Succeeded", "Failed", "PodDeleted"})
TEXT_CHARS = 500
MAX_SAID = 500


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Said(_Fact):
    """A comment or a review on a PR."""

    author: str
    kind: str
    review_state: str | None = None
    time: dt.datetime
    text: str = ""


class Check(_Fact):
    """A check's latest conclusion on the PR's head."""

    name: str
    kind: str
    failed: bool
    conclusion: str
    head_sha: str
    time: dt.datetime


class PullFacts(_Fact):
    name: str  # owner/repo#number
    repo: str
    number: str
    url: str = ""
    open: bool = True
    merged: bool = False
    head_sha: str = ""
    last_commit_at: dt.datetime | None = None
    said: dict[str, Said] = Field(default_factory=dict)  # by comment id
    checks: dict[str, Check] = Field(default_factory=dict)  # by kind/name

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks.values() if c.failed and (not self.head_sha or c.head_sha == self.head_sha)]


class AgentPod(_Fact):
    namespace: str
    name: str
    agent: str
    started_at: dt.datetime
    running: bool = True
    ended_at: dt.datetime | None = None


class TaskWorkflow(_Fact):
    """One task's PRs and agent pods, and the workflow alerts firing about them."""

    key: str
    cluster: str
    task: str | None = None
    pulls: dict[str, PullFacts] = Field(default_factory=dict)
    pods: dict[str, AgentPod] = Field(default_factory=dict)  # by namespace/name
    firing: dict[str, Alert] = Field(default_factory=dict)  # by fingerprint
    updated_at: dt.datetime | None = None

    @property
    def running_pods(self) -> list[AgentPod]:
        return sorted((p for p in self.pods.values() if p.running), key=lambda p: p.started_at)

    @property
    def open_pulls(self) -> list[PullFacts]:
        return [p for p in self.pulls.values() if p.open]

    def latest_pod(self) -> AgentPod | None:
        """The agent pod that worked on the task last: the newest running one, else the newest."""
        pods = self.running_pods or sorted(self.pods.values(), key=lambda p: p.started_at)
        return pods[-1] if pods else None

    @property
    def finished(self) -> bool:
        """Nothing left to watch: every PR closed, no agent running and nothing firing."""
        return not self.open_pulls and not self.running_pods and not self.firing


def _time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def workflow_key(event: ConditionEvent) -> str | None:
    """The workflow an event belongs to, or None when it is not about one: by task, else by PR."""
    data = event.data
    task = data.labels.get("task-id")
    if data.reason in PR_REASONS and data.resource.kind == "PullRequest":
        return f"{event.cluster}/task/{task}" if task else f"{event.cluster}/pr/{data.resource.name}"
    pod_event = data.reason == POD_START or data.reason in POD_ENDS
    if pod_event and data.resource.kind == "Pod" and task and data.labels.get("agent"):
        return f"{event.cluster}/task/{task}"
    return None


def fold(workflow: TaskWorkflow, event: ConditionEvent, now: dt.datetime) -> TaskWorkflow:
    """The workflow with one more condition applied (a copy; the argument is left as it was)."""
    data = event.data
    seen = min(event.time or now, now)
    changed = workflow.model_copy(deep=True, update={"updated_at": now})
    changed.task = changed.task or data.labels.get("task-id")
    if data.resource.kind == "Pod":
        _fold_pod(changed, event, seen)
        return changed
    pull = changed.pulls.get(data.resource.name) or PullFacts(
        name=data.resource.name, repo=data.labels.get("repo", ""), number=data.labels.get("pr", "")
    )
    pull.url = data.labels.get("url") or pull.url
    _fold_pull(pull, event, seen)
    changed.pulls[pull.name] = pull
    return changed


def _fold_pod(workflow: TaskWorkflow, event: ConditionEvent, seen: dt.datetime) -> None:
    data = event.data
    key = f"{data.resource.namespace}/{data.resource.name}"
    if data.reason == POD_START:
        started = _time(data.labels.get("since")) or seen
        workflow.pods[key] = AgentPod(
            namespace=data.resource.namespace or "",
            name=data.resource.name,
            agent=data.labels.get("agent", ""),
            started_at=min(started, seen),
        )
    elif key in workflow.pods:
        workflow.pods[key] = workflow.pods[key].model_copy(update={"running": False, "ended_at": seen})


def _fold_pull(pull: PullFacts, event: ConditionEvent, seen: dt.datetime) -> None:
    data, labels = event.data, event.data.labels
    if data.reason == "PullRequestOpen":
        pull.open, pull.head_sha = True, labels.get("head_sha", pull.head_sha)
        pull.last_commit_at = _time(labels.get("last_commit_at")) or pull.last_commit_at
    elif data.reason == "PullRequestClosed":
        pull.open, pull.merged = False, labels.get("merged") == "true"
    elif data.reason == "PullRequestComment":
        said = Said(
            author=labels.get("author", "unknown"),
            kind=labels.get("kind", "comment"),
            review_state=labels.get("review_state"),
            time=_time(labels.get("time")) or seen,
            text=(data.message or "")[:TEXT_CHARS],
        )
        pull.said[f"{said.kind}/{labels.get('comment_id', len(pull.said))}"] = said
        if len(pull.said) > MAX_SAID:
            oldest = sorted(pull.said, key=lambda k: pull.said[k].time)[: len(pull.said) - MAX_SAID]
            for key in oldest:
                del pull.said[key]
    else:
        check = Check(
            name=labels.get("check", "check"),
            kind=labels.get("kind", "check_run"),
            failed=data.reason == "CheckFailed",
            conclusion=labels.get("conclusion", ""),
            head_sha=labels.get("head_sha", ""),
            time=_time(labels.get("time")) or seen,
        )
        known = pull.checks.get(f"{check.kind}/{check.name}")
        if known is None or check.time >= known.time:
            pull.checks[f"{check.kind}/{check.name}"] = check
