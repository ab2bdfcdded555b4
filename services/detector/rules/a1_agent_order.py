"""A1 agent comment order mismatch: an agent pod started (Rex/Blaze -> Cleo -> Tess -> Cipher -> Atlas,
`a1.order`) while its task's PR holds no comment or review from the agent before it. A comment posted up to
`a1.grace_s` after the pod started still counts (GitHub and the collector take a moment), so the rule judges a
pod only once that grace has passed. Judged only when the task's PR is known (its repository is watched):
without it there is no evidence either way. Fires while the pod runs; its end resolves it.
"""

from __future__ import annotations

import datetime as dt

from healer_common.settings.detector import RuleSettings
from services.detector.rules.agent_workflow import agent_name, on_pod, step_of
from services.detector.rules.model import Finding, WorkflowRule
from services.detector.workflow_facts import AgentPod, PullFacts, TaskWorkflow


def _predecessors(pod: AgentPod, cfg: RuleSettings) -> list[str]:
    step = step_of(pod.agent, cfg.a1.order)
    return cfg.a1.order[step - 1] if step else []


def _commented(pull: PullFacts, agents: list[str], before: dt.datetime, cfg: RuleSettings) -> bool:
    return any(agent_name(s.author, cfg.a1.order) in agents and s.time <= before for s in pull.said.values())


def judge(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> list[Finding]:
    found = []
    pulls = sorted(workflow.pulls.values(), key=lambda p: p.number)
    for pod in workflow.running_pods:
        judged_at = pod.started_at + dt.timedelta(seconds=cfg.a1.grace_s)
        before = _predecessors(pod, cfg)
        if not before or not pulls or judged_at > now:
            continue
        if any(_commented(pull, before, judged_at, cfg) for pull in pulls):
            continue
        pull = pulls[-1]
        resource, labels = on_pod(pod, pull, workflow)
        wanted = " or ".join(name.capitalize() for name in before)
        found.append(
            Finding(
                alert_id="A1",
                identity=pod.name,
                resource=resource,
                labels={**labels, "expected": wanted},
                summary=f"agent comment order mismatch: {pod.agent} started on {pull.name} with no comment from "
                f"{wanted}",
                description=f"pod {pod.namespace}/{pod.name} ({pod.agent}) started at {pod.started_at:%H:%M:%S}; "
                f"{pull.name} has no comment or review from {wanted} before it ({pull.url})",
                since=judged_at,
                evidence=(f"{pod.agent} pod {pod.name} started {pod.started_at:%H:%M:%S}",),
            )
        )
    return found


def wakes(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> dt.datetime | None:
    """When the grace of the next running pod that has a predecessor ends."""
    grace = dt.timedelta(seconds=cfg.a1.grace_s)
    pending = [p.started_at + grace for p in workflow.running_pods if _predecessors(p, cfg)]
    later = [t for t in pending if t > now]
    return min(later) if later and workflow.pulls else None


RULES = (WorkflowRule("A1", judge, ("PullRequestOpen", "PullRequestClosed", "PullRequestComment"), wakes),)
