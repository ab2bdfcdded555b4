"""A3 stale progress: the task's PR's last commit is older than `a3.stale_after_s` (15 minutes) while one of
its agent pods runs. The alert is about the running pod (the newest, if several). A new commit, the pod's end
or the PR's closing resolves it.
"""

from __future__ import annotations

import datetime as dt

from healer_common.durations import spoken_duration
from healer_common.settings.detector import RuleSettings
from services.detector.rules.agent_workflow import on_pod
from services.detector.rules.model import Finding, WorkflowRule
from services.detector.workflow_facts import TaskWorkflow


def _stale_at(commit: dt.datetime, cfg: RuleSettings) -> dt.datetime:
    return commit + dt.timedelta(seconds=cfg.a3.stale_after_s)


def judge(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> list[Finding]:
    running = workflow.running_pods
    if not running:
        return []
    pod = running[-1]
    found = []
    for pull in workflow.open_pulls:
        commit = pull.last_commit_at
        if commit is None or _stale_at(commit, cfg) > now:
            continue
        resource, labels = on_pod(pod, pull, workflow)
        age = spoken_duration((now - commit).total_seconds())
        found.append(
            Finding(
                alert_id="A3",
                identity=f"{pull.name}/{pod.name}",
                resource=resource,
                labels={**labels, "last_commit_at": commit.isoformat()},
                summary=f"stale progress: {pull.name}'s last commit is {age} old while {pod.agent} runs",
                description=f"no commit on {pull.name} since {commit:%H:%M:%S} (head {pull.head_sha[:8]}) while "
                f"pod {pod.namespace}/{pod.name} ({pod.agent}) runs; {pull.url}",
                since=max(_stale_at(commit, cfg), pod.started_at),
                evidence=(f"last commit {commit:%Y-%m-%d %H:%M:%S}",),
            )
        )
    return found


def wakes(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> dt.datetime | None:
    if not workflow.running_pods:
        return None
    due = [_stale_at(p.last_commit_at, cfg) for p in workflow.open_pulls if p.last_commit_at is not None]
    later = [t for t in due if t > now]
    return min(later) if later else None


RULES = (WorkflowRule("A3", judge, ("PullRequestOpen", "PullRequestClosed"), wakes),)
