"""The sandbox's GitHub: repositories whose pull requests the agents work through (commits, comments, reviews,
check runs and workflow runs), the issues Healer's notifier opens, and an hourly rate-limit quota, as GitHub's
REST API shows them (github_api.py serves them). Scenario plays move the pull requests (stories.py); a
remediation CodeRun that succeeds opens, checks and merges one (coderuns.py).

Every change is also a webhook delivery (`deliveries`), in GitHub's shape, that github_api.py signs and sends
to whoever the sandbox was told to notify. Times are the wall clock's: the stories' ages (`ago`) are real.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from healer_common.clock import Clock
from healer_sandbox.units import rfc3339

Json = dict[str, Any]
WEB = "https://github.com"
QUOTA_WINDOW_S = 3_600.0


def sha_of(*parts: object) -> str:
    return hashlib.sha1("/".join(str(p) for p in parts).encode()).hexdigest()  # noqa: S324 - a git-like id, not security


def user(login: str) -> Json:
    return {"login": login, "id": int(sha_of(login)[:7], 16), "type": "Bot" if "[bot]" in login else "User"}


@dataclass
class Said:
    id: int
    login: str
    body: str
    at: dt.datetime
    state: str | None = None  # a review's: APPROVED, CHANGES_REQUESTED, COMMENTED


@dataclass
class Commit:
    sha: str
    login: str
    message: str
    at: dt.datetime


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    conclusion: str | None
    at: dt.datetime
    workflow: bool = False  # a GitHub Actions workflow run rather than a check run


@dataclass
class PullRequest:
    number: int
    title: str
    branch: str
    login: str
    labels: list[str]
    opened_at: dt.datetime
    commits: list[Commit] = field(default_factory=list)
    comments: list[Said] = field(default_factory=list)
    reviews: list[Said] = field(default_factory=list)
    checks: list[CheckRun] = field(default_factory=list)
    state: str = "open"
    merged_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha if self.commits else sha_of(self.number, "base")


@dataclass
class Issue:
    number: int
    title: str
    body: str
    labels: list[str]
    login: str
    opened_at: dt.datetime
    comments: list[Said] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    updated_at: dt.datetime | None = None


@dataclass
class Repository:
    name: str  # owner/repo
    pulls: dict[int, PullRequest] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)

    def next_number(self) -> int:
        return max([0, *self.pulls, *self.issues]) + 1


@dataclass
class Quota:
    """GitHub's primary rate limit: `limit` requests an hour; `spend` takes from it (Healer's reads, and what
    other clients spend, which a scenario can play); the window resets an hour after it began."""

    limit: int = 5_000
    used: int = 0
    window_start: dt.datetime | None = None

    def roll(self, now: dt.datetime) -> None:
        if self.window_start is None or (now - self.window_start).total_seconds() >= QUOTA_WINDOW_S:
            self.window_start, self.used = now, 0

    def spend(self, now: dt.datetime, count: int = 1) -> bool:
        """Take `count` requests; False (nothing taken) when the quota is spent."""
        self.roll(now)
        if self.used + count > self.limit:
            self.used = self.limit
            return False
        self.used += count
        return True

    def remaining(self, now: dt.datetime) -> int:
        self.roll(now)
        return self.limit - self.used

    def reset_at(self, now: dt.datetime) -> dt.datetime:
        self.roll(now)
        assert self.window_start is not None
        return self.window_start + dt.timedelta(seconds=QUOTA_WINDOW_S)


Delivery = tuple[str, Json]  # (X-GitHub-Event, payload)


@dataclass
class GitHub:
    clock: Clock
    repos: dict[str, Repository] = field(default_factory=dict)
    quota: Quota = field(default_factory=Quota)
    on_delivery: Callable[[str, Json], None] = field(default=lambda _e, _p: None)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000))

    def repo(self, name: str) -> Repository:
        return self.repos.setdefault(name, Repository(name))

    def pull(self, repo: str, number: int) -> PullRequest:
        found = self.repo(repo).pulls.get(number)
        if found is None:
            raise KeyError(f"no pull request {repo}#{number}")
        return found

    # what happens to pull requests ------------------------------------------------------------------------------
    def open_pull(
        self, repo: str, number: int, title: str, *, branch: str, login: str, labels: list[str]
    ) -> PullRequest:
        now = self.clock.now()
        pull = PullRequest(number, title, branch, login, labels, opened_at=now, updated_at=now)
        self.repo(repo).pulls[number] = pull
        self._deliver("pull_request", repo, pull, action="opened")
        return pull

    def commit(self, repo: str, number: int, login: str, message: str, ago: float = 0.0) -> Commit:
        pull = self.pull(repo, number)
        at = self.clock.now() - dt.timedelta(seconds=ago)
        done = Commit(sha_of(repo, number, len(pull.commits), message, at), login, message, at)
        pull.commits.append(done)
        self._touch(repo, pull, "pull_request", action="synchronize")
        return done

    def comment(self, repo: str, number: int, login: str, body: str) -> Said:
        pull = self.pull(repo, number)
        said = Said(next(self._ids), login, body, self.clock.now())
        pull.comments.append(said)
        self._touch(repo, pull, "issue_comment", action="created")
        return said

    def review(self, repo: str, number: int, login: str, state: str, body: str = "") -> Said:
        pull = self.pull(repo, number)
        said = Said(next(self._ids), login, body, self.clock.now(), state=state)
        pull.reviews.append(said)
        self._touch(repo, pull, "pull_request_review", action="submitted")
        return said

    def check(self, repo: str, number: int, name: str, conclusion: str, *, workflow: bool = False) -> CheckRun:
        pull = self.pull(repo, number)
        run = CheckRun(next(self._ids), name, pull.head_sha, conclusion, self.clock.now(), workflow)
        pull.checks.append(run)
        self._touch(repo, pull, "workflow_run" if workflow else "check_run", action="completed")
        return run

    def close(self, repo: str, number: int, *, merge: bool) -> PullRequest:
        pull = self.pull(repo, number)
        now = self.clock.now()
        pull.state, pull.closed_at = "closed", now
        pull.merged_at = now if merge else None
        self._touch(repo, pull, "pull_request", action="closed")
        return pull

    def _touch(self, repo: str, pull: PullRequest, event: str, action: str) -> None:
        pull.updated_at = self.clock.now()
        self._deliver(event, repo, pull, action=action)

    def _deliver(self, event: str, repo: str, pull: PullRequest, action: str) -> None:
        body: Json = {"action": action, "repository": {"full_name": repo, "name": repo.split("/")[1]}}
        body["pull_request" if event not in {"issue_comment"} else "issue"] = {
            **pull_json(repo, pull),
            **({"pull_request": {"url": pull_url(repo, pull.number)}} if event == "issue_comment" else {}),
        }
        self.on_delivery(event, body)

    # issues (the notifier's) --------------------------------------------------------------------------------------
    def open_issue(self, repo: str, title: str, body: str, labels: list[str], login: str) -> Issue:
        now = self.clock.now()
        found = self.repo(repo)
        issue = Issue(found.next_number(), title, body, labels, login, opened_at=now, updated_at=now)
        found.issues[issue.number] = issue
        return issue

    def say_on_issue(self, repo: str, issue: Issue, body: str, login: str = "healer") -> Said:
        said = Said(next(self._ids), login, body, self.clock.now())
        issue.comments.append(said)
        issue.updated_at = said.at
        del repo
        return said

    def issue(self, repo: str, number: int) -> Issue:
        found = self.repo(repo).issues.get(number)
        if found is None:
            raise KeyError(f"no issue {repo}#{number}")
        return found


def pull_url(repo: str, number: int) -> str:
    return f"{WEB}/{repo}/pull/{number}"


def pull_json(repo: str, pull: PullRequest) -> Json:
    merged = pull.merged_at is not None
    return {
        "number": pull.number,
        "title": pull.title,
        "state": pull.state,
        "html_url": pull_url(repo, pull.number),
        "user": user(pull.login),
        "labels": [{"name": name} for name in pull.labels],
        "head": {"ref": pull.branch, "sha": pull.head_sha},
        "base": {"ref": "main"},
        "created_at": rfc3339(pull.opened_at),
        "updated_at": rfc3339(pull.updated_at or pull.opened_at),
        "closed_at": rfc3339(pull.closed_at) if pull.closed_at else None,
        "merged_at": rfc3339(pull.merged_at) if pull.merged_at else None,
        "merged": merged,
        "merge_commit_sha": sha_of(repo, pull.number, "merge") if merged else None,
    }


def commit_json(commit: Commit) -> Json:
    person = {"name": commit.login, "date": rfc3339(commit.at)}
    return {
        "sha": commit.sha,
        "commit": {"message": commit.message, "author": person, "committer": person},
        "author": user(commit.login),
    }


def said_json(said: Said) -> Json:
    found: Json = {"id": said.id, "user": user(said.login), "body": said.body}
    if said.state is None:
        return {**found, "created_at": rfc3339(said.at), "updated_at": rfc3339(said.at)}
    return {**found, "state": said.state, "submitted_at": rfc3339(said.at)}


def check_json(run: CheckRun) -> Json:
    return {
        "id": run.id,
        "name": run.name,
        "head_sha": run.head_sha,
        "status": "completed" if run.conclusion else "in_progress",
        "conclusion": run.conclusion,
        "started_at": rfc3339(run.at),
        "completed_at": rfc3339(run.at) if run.conclusion else None,
        "updated_at": rfc3339(run.at),
    }


def issue_json(repo: str, issue: Issue) -> Json:
    return {
        "number": issue.number,
        "title": issue.title,
        "body": issue.body,
        "state": issue.state,
        "state_reason": issue.state_reason,
        "labels": [{"name": name} for name in issue.labels],
        "user": user(issue.login),
        "html_url": f"{WEB}/{repo}/issues/{issue.number}",
        "comments": len(issue.comments),
        "created_at": rfc3339(issue.opened_at),
        "updated_at": rfc3339(issue.updated_at or issue.opened_at),
    }
