"""A4 repeated approval loop: one author posted more than `a4.max_approvals` (2) approval comments on a PR: an
APPROVED review, or a comment or review text matching `a4.approval_pattern` (approved, lgtm, ✅ ...). Agents
approving in a loop burn their budget without moving the PR. One alert per PR and author; the PR's closing
resolves it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

from healer_common.settings.detector import RuleSettings
from services.detector.rules.agent_workflow import on_pull
from services.detector.rules.model import Finding, WorkflowRule
from services.detector.workflow_facts import PullFacts, Said, TaskWorkflow


def is_approval(said: Said, pattern: str) -> bool:
    return said.review_state == "APPROVED" or re.search(pattern, said.text) is not None


def approvals(pull: PullFacts, pattern: str) -> Counter[str]:
    return Counter(s.author for s in pull.said.values() if is_approval(s, pattern))


def judge(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> list[Finding]:
    del now
    found = []
    for pull in workflow.open_pulls:
        for author, count in sorted(approvals(pull, cfg.a4.approval_pattern).items()):
            if count <= cfg.a4.max_approvals:
                continue
            times = sorted(s.time for s in pull.said.values() if s.author == author)
            resource, labels = on_pull(pull, workflow)
            found.append(
                Finding(
                    alert_id="A4",
                    identity=f"{pull.name}/{author}",
                    resource=resource,
                    labels={**labels, "author": author, "approvals": str(count)},
                    summary=f"repeated approval loop: {author} approved {pull.name} {count} times",
                    description=f"{author} posted {count} approval comments on {pull.name} (more than "
                    f"{cfg.a4.max_approvals}) without the PR moving on; {pull.url}",
                    since=times[-1],
                    evidence=tuple(f"approval by {author} at {t:%H:%M:%S}" for t in times[-3:]),
                )
            )
    return found


RULES = (WorkflowRule("A4", judge, ("PullRequestComment",), kind="PullRequest"),)
