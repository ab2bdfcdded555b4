"""What came of a hand-off to an AI agent, decided from what the cluster and GitHub say: the CodeRun's phase
and message, how long it worked, the pull request it opened (status.pullRequestUrl), whether that merged, and
whether every completed check on its head passed. adapters/handoffs.py reads them; the run's engine
(playbook_run.py) adds whether the alert resolved and judges. Pure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from healer_common.contract.remediations import CodeRunOutcome
from services.remediator.run_state import HandOff

_PR_URL = re.compile(r"github\.com/([^/\s]+/[^/\s]+)/pulls?/(\d+)|/repos/([^/\s]+/[^/\s]+)/pulls/(\d+)")
FAILED = frozenset({"failure", "timed_out", "startup_failure", "cancelled", "action_required"})
FINISHED = frozenset({"Succeeded", "Failed"})


@dataclass(frozen=True)
class PullFacts:
    merged: bool | None
    head_sha: str | None


def pr_coordinates(url: str) -> tuple[str, int] | None:
    """(owner/repo, number) of a pull request's web or API URL."""
    found = _PR_URL.search(url)
    if found is None:
        return None
    repo, number = (found.group(1), found.group(2)) if found.group(1) else (found.group(3), found.group(4))
    return repo, int(number)


def pull_facts(pull: dict[str, Any]) -> PullFacts:
    merged = bool(pull.get("merged") or pull.get("merged_at"))
    return PullFacts(merged=merged, head_sha=(pull.get("head") or {}).get("sha"))


def checks_verdict(check_runs: list[dict[str, Any]]) -> bool | None:
    """False when a completed check failed, True when some completed and none failed, None when none did."""
    done = [str(r.get("conclusion") or "") for r in check_runs if r.get("status") == "completed"]
    if not done:
        return None
    return not any(conclusion in FAILED for conclusion in done)


def _time(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def finished_at(coderun: dict[str, Any], phase: str) -> dt.datetime | None:
    for condition in (coderun.get("status") or {}).get("conditions") or []:
        if condition.get("type") == phase and condition.get("status") == "True":
            return _time(condition.get("lastTransitionTime"))
    return None


def coderun_outcome(
    handoff: HandOff,
    coderun: dict[str, Any] | None,
    now: dt.datetime,
    pull: PullFacts | None = None,
    checks: bool | None = None,
) -> CodeRunOutcome | None:
    """The CodeRun's outcome once it has ended (or is gone); None while it still works."""
    status: dict[str, Any] = {}
    if coderun is None:
        phase, message, status = "Unknown", "the CodeRun is gone (deleted before it ended)", {}
    else:
        status = coderun.get("status") or {}
        phase, message = str(status.get("phase") or "Pending"), str(status.get("message") or "")
        if phase not in FINISHED:
            return None
    ended = (finished_at(coderun, phase) if coderun else None) or now
    return CodeRunOutcome(
        namespace=handoff.namespace,
        name=handoff.name,
        phase=phase,
        started_at=handoff.since,
        finished_at=ended,
        duration_s=max(0.0, (ended - handoff.since).total_seconds()),
        message=message,
        pr_url=status.get("pullRequestUrl") or None,
        merged=pull.merged if pull is not None else None,
        checks_passed=checks,
    )
