"""A5 post-Tess CI failure: Tess (`a5.approver`) approved the PR (an APPROVED review, or an approval comment
as A4 reads them), yet a check run or workflow run on its head failed. Critical: the testing agent's word and
CI disagree, so the PR must not merge as it is. A passing re-run of every failed check, or the PR's closing,
resolves it.
"""

from __future__ import annotations

import datetime as dt

from healer_common.settings.detector import RuleSettings
from services.detector.rules.a4_approval_loop import is_approval
from services.detector.rules.agent_workflow import agent_name, on_pull
from services.detector.rules.model import Finding, WorkflowRule
from services.detector.workflow_facts import TaskWorkflow


def judge(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> list[Finding]:
    del now
    found = []
    approver = cfg.a5.approver.lower()
    for pull in workflow.open_pulls:
        approved = [
            s
            for s in pull.said.values()
            if agent_name(s.author, [[approver]]) == approver and is_approval(s, cfg.a4.approval_pattern)
        ]
        failed = pull.failed_checks()
        if not approved or not failed:
            continue
        resource, labels = on_pull(pull, workflow)
        names = ", ".join(sorted(c.name for c in failed))
        found.append(
            Finding(
                alert_id="A5",
                identity=pull.name,
                resource=resource,
                labels={**labels, "check": names, "approved_by": approved[-1].author},
                summary=f"post-Tess CI failure: {approved[-1].author} approved {pull.name}, yet {names} failed",
                description=f"{approved[-1].author} approved {pull.name} at {approved[-1].time:%H:%M:%S}; "
                f"failed on head {pull.head_sha[:8]}: "
                + "; ".join(f"{c.name} {c.conclusion}" for c in failed)
                + f"; {pull.url}",
                since=max(min(c.time for c in failed), approved[0].time),
                severity="critical",
                evidence=tuple(f"{c.kind} {c.name}: {c.conclusion}" for c in failed),
            )
        )
    return found


RULES = (WorkflowRule("A5", judge, ("PullRequestComment", "CheckFailed", "CheckPassed"), kind="PullRequest"),)
