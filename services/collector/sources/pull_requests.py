"""A pull request as GitHub's REST API returns it, turned into the signals the A-series rules read.

    PullRequestOpen     labels repo, pr, url, task-id, head_sha, last_commit_at, author, branch; a new commit
                        is a new occurrence (so the detector learns the PR's last commit time)
    PullRequestClosed   labels.merged
    PullRequestComment  each issue comment and review once (occurrence: its id); the text in the message
    CheckFailed/Passed  each check run and workflow run on the head, once per conclusion
    change (commit)     each commit the PR's head moves to; (merge) the merge commit, once

The PR's task id comes from its labels, else its branch, else its title (`github.task_pattern`), and is what
joins it to the agent pods working on it (their `task-id` label). Pure: the github source fetches the JSON and
keeps the transition memory; this module reads what it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from healer_common.contract.events import ChangeData, ResourceRef
from services.collector.observations import ChangeRecord, Emission, Json, Observation, observe

KIND = "PullRequest"
FAILED = frozenset({"failure", "timed_out", "startup_failure", "cancelled", "action_required"})
PASSED = frozenset({"success", "neutral", "skipped"})
MESSAGE_CHARS = 2_000


@dataclass
class PullRequestRead:
    """Everything read about one pull request in one pass (the lists as GitHub returns them, oldest first)."""

    repo: str
    pull: Json
    comments: list[Json] = field(default_factory=list)
    reviews: list[Json] = field(default_factory=list)
    commits: list[Json] = field(default_factory=list)
    check_runs: list[Json] = field(default_factory=list)
    workflow_runs: list[Json] = field(default_factory=list)

    @property
    def number(self) -> int:
        return int(self.pull["number"])

    @property
    def name(self) -> str:
        """The PR's resource name: `owner/repo#number`."""
        return f"{self.repo}#{self.number}"

    @property
    def head_sha(self) -> str:
        return str((self.pull.get("head") or {}).get("sha") or "")


def task_id(pull: Json, pattern: str) -> str | None:
    """The task a PR belongs to: from a label (`task-7`), its branch (`feature/task-7-login`) or its title."""
    found = re.compile(pattern)
    texts = [str(label.get("name", "")) for label in pull.get("labels") or []]
    texts += [str((pull.get("head") or {}).get("ref") or ""), str(pull.get("title") or "")]
    for text in texts:
        if match := found.search(text):
            return match.group(1)
    return None


def _login(item: Json) -> str:
    return str((item.get("user") or item.get("author") or {}).get("login") or "unknown")


def _commit_time(commit: Json) -> str:
    detail = commit.get("commit") or {}
    return str((detail.get("committer") or {}).get("date") or (detail.get("author") or {}).get("date") or "")


def pr_labels(read: PullRequestRead, pattern: str) -> dict[str, str]:
    """The labels every signal of this PR carries: where it is, and the task it joins."""
    labels = {"repo": read.repo, "pr": str(read.number), "url": str(read.pull.get("html_url") or "")}
    if (task := task_id(read.pull, pattern)) is not None:
        labels["task-id"] = task
    return labels


def _state(read: PullRequestRead, base: dict[str, str]) -> Observation:
    key = ("", read.name)
    pull = read.pull
    if pull.get("state") == "closed":
        merged = "true" if pull.get("merged") or pull.get("merged_at") else "false"
        return observe(KIND, key, "PullRequestClosed", labels={**base, "merged": merged}, occurrence=merged)
    last = _commit_time(read.commits[-1]) if read.commits else str(pull.get("updated_at") or "")
    labels = {
        **base,
        "head_sha": read.head_sha,
        "last_commit_at": last,
        "author": _login(pull),
        "branch": str((pull.get("head") or {}).get("ref") or ""),
    }
    title = str(pull.get("title") or "")[:MESSAGE_CHARS]
    return observe(KIND, key, "PullRequestOpen", labels=labels, message=title, occurrence=f"{read.head_sha}@{last}")


def _said(read: PullRequestRead, base: dict[str, str]) -> list[Observation]:
    """Each comment and review once, oldest first."""
    key = ("", read.name)
    found = []
    for kind, items, stamp in (("comment", read.comments, "created_at"), ("review", read.reviews, "submitted_at")):
        for item in items:
            labels = {**base, "author": _login(item), "kind": kind, "comment_id": str(item.get("id")), "time": ""}
            labels["time"] = str(item.get(stamp) or item.get("created_at") or "")
            if kind == "review":
                labels["review_state"] = str(item.get("state") or "COMMENTED").upper()
            text = str(item.get("body") or "")[:MESSAGE_CHARS] or None
            found.append(
                observe(
                    KIND, key, "PullRequestComment", labels=labels, message=text, occurrence=f"{kind}/{item.get('id')}"
                )
            )
    return sorted(found, key=lambda o: o.condition.labels["time"])


def _check(run: Json, kind: str, base: dict[str, str], key: tuple[str, str]) -> Observation | None:
    conclusion = str(run.get("conclusion") or "")
    if run.get("status") != "completed" or not conclusion:
        return None
    name = str(run.get("name") or run.get("display_title") or run.get("id"))
    labels = {
        **base,
        "check": name,
        "kind": kind,
        "conclusion": conclusion,
        "head_sha": str(run.get("head_sha") or ""),
        "time": str(run.get("completed_at") or run.get("updated_at") or ""),
    }
    reason = "CheckFailed" if conclusion in FAILED else "CheckPassed" if conclusion in PASSED else None
    if reason is None:
        return None
    message = f"{kind.replace('_', ' ')} {name}: {conclusion}"
    return observe(KIND, key, reason, labels=labels, message=message, occurrence=f"{kind}/{run.get('id')}/{conclusion}")


def _checks(read: PullRequestRead, base: dict[str, str]) -> list[Observation]:
    """Checks on the PR's current head: a check re-run on an older head says nothing about this one."""
    key = ("", read.name)
    runs = [(r, "check_run") for r in read.check_runs] + [(r, "workflow_run") for r in read.workflow_runs]
    found = [_check(run, kind, base, key) for run, kind in runs if str(run.get("head_sha") or "") == read.head_sha]
    return [o for o in found if o is not None]


def pull_request_observations(read: PullRequestRead, pattern: str) -> list[Observation]:
    """What the PR's state says now; the source keeps only what is new (transitions.py)."""
    base = pr_labels(read, pattern)
    state = _state(read, base)
    if state.condition.reason == "PullRequestClosed":
        return [state]
    return [state, *_said(read, base), *_checks(read, base)]


def pull_request_changes(read: PullRequestRead) -> list[ChangeRecord]:
    """Commits the PR's head moved to, and its merge: deliberate changes the correlator can weigh."""
    resource = ResourceRef(kind=KIND, name=read.name)
    found = []
    shas = [str(c.get("sha")) for c in read.commits if c.get("sha")]
    for before, after in zip([None, *shas], shas, strict=False):
        data = ChangeData(what="commit", resource=resource, from_=before, to=after)
        found.append(ChangeRecord(data, f"commit/{read.repo}/{after}"))
    if (merge := read.pull.get("merge_commit_sha")) and (read.pull.get("merged") or read.pull.get("merged_at")):
        data = ChangeData(what="merge", resource=resource, from_=read.head_sha or None, to=str(merge))
        found.append(ChangeRecord(data, f"merge/{read.repo}/{merge}"))
    return found


def emission_of(read: PullRequestRead, new_observations: list[Observation], known: set[str]) -> Emission:
    """The emission of one read: the new observations, and the changes not published before (`known`: this
    PR's change keys, updated in place). A PR read for the first time brings only its head commit (or its
    merge): its history is not news."""
    first_read = not known
    changes = [c for c in pull_request_changes(read) if c.key not in known]
    if first_read:
        known.update(c.key for c in changes)
        changes = [c for c in changes if c.data.what == "merge"] or changes[-1:]
    known.update(c.key for c in changes)
    return Emission(conditions=new_observations, changes=changes)


def closed_read(repo: str, pull: dict[str, Any]) -> PullRequestRead:
    """A PR that left the open list, as read on its own: only its final state matters."""
    return PullRequestRead(repo=repo, pull=pull)
