"""The github source's reading of GitHub, as its users rely on it: a PR's signals and changes from GitHub's
documented JSON, the task found where the platform puts it, each comment and check said once, GitHub's
webhook signature checked, and GitHub's rate limit respected (a 429 waited out, the quota's reserve kept)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import httpx
import pytest

from healer_common.clock import ManualClock, SystemClock
from healer_common.settings.collector import RetrySettings
from healer_common.settings.github import GitHubSettings
from services.collector.sources.github import GitHubReader, Refused
from services.collector.sources.github_webhooks import Nudge, nudge_of, signature, signed
from services.collector.sources.pull_requests import (
    PullRequestRead,
    emission_of,
    pull_request_observations,
    task_id,
)
from services.collector.transitions import TransitionMemory

PATTERN = GitHubSettings().task_pattern
NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def pull(**changes: Any) -> dict[str, Any]:
    return {
        "number": 42,
        "title": "add the sign-in page",
        "state": "open",
        "html_url": "https://github.com/5dlabs/cto/pull/42",
        "user": {"login": "5DLabs-Rex"},
        "labels": [{"name": "enhancement"}, {"name": "task-7"}],
        "head": {"ref": "feature/login", "sha": "bbb"},
        **changes,
    }


def read(**changes: Any) -> PullRequestRead:
    return PullRequestRead(
        repo="5dlabs/cto",
        pull=pull(**changes),
        comments=[{"id": 1, "user": {"login": "5DLabs-Rex"}, "body": "done", "created_at": "2026-03-02T08:50:00Z"}],
        reviews=[{"id": 2, "user": {"login": "tess"}, "state": "APPROVED", "submitted_at": "2026-03-02T08:55:00Z"}],
        commits=[
            {"sha": "aaa", "commit": {"committer": {"date": "2026-03-02T08:30:00Z"}}},
            {"sha": "bbb", "commit": {"committer": {"date": "2026-03-02T08:40:00Z"}}},
        ],
        check_runs=[
            {"id": 5, "name": "ci", "status": "completed", "conclusion": "failure", "head_sha": "bbb"},
            {"id": 6, "name": "ci", "status": "completed", "conclusion": "success", "head_sha": "aaa"},
            {"id": 7, "name": "lint", "status": "in_progress", "conclusion": None, "head_sha": "bbb"},
        ],
    )


def test_the_task_is_found_in_a_label_then_the_branch_then_the_title() -> None:
    assert task_id(pull(), PATTERN) == "7"
    assert task_id(pull(labels=[], head={"ref": "feature/task_12-login"}), PATTERN) == "12"
    assert task_id(pull(labels=[], head={"ref": "x"}, title="Task 9: login"), PATTERN) == "9"
    assert task_id(pull(labels=[], head={"ref": "x"}, title="login"), PATTERN) is None


def test_an_open_pr_says_its_head_comments_reviews_and_completed_checks_on_its_head() -> None:
    found = pull_request_observations(read(), PATTERN)

    by_reason = [
        (o.condition.reason, o.condition.labels.get("author") or o.condition.labels.get("check")) for o in found
    ]
    assert by_reason == [
        ("PullRequestOpen", "5DLabs-Rex"),
        ("PullRequestComment", "5DLabs-Rex"),
        ("PullRequestComment", "tess"),
        ("CheckFailed", "ci"),
    ], "the check on an older head and the one still running say nothing"
    opened = found[0].condition
    assert opened.resource.name == "5dlabs/cto#42"
    assert opened.labels["task-id"] == "7"
    assert opened.labels["last_commit_at"] == "2026-03-02T08:40:00Z"
    assert found[2].condition.labels["review_state"] == "APPROVED"


def test_each_comment_and_check_is_said_once_and_a_new_commit_is_news() -> None:
    memory, known = TransitionMemory(), set[str]()
    first = emission_of(read(), memory.changes("pr", pull_request_observations(read(), PATTERN)), known)
    assert len(first.conditions) == 4
    assert [c.data.to for c in first.changes] == ["bbb"], "a PR read for the first time: its head, not its history"

    again = emission_of(read(), memory.changes("pr", pull_request_observations(read(), PATTERN)), known)
    assert again.conditions == []
    assert again.changes == []

    moved = read(head={"ref": "feature/login", "sha": "ccc"})
    moved.commits.append({"sha": "ccc", "commit": {"committer": {"date": "2026-03-02T09:00:00Z"}}})
    news = emission_of(moved, memory.changes("pr", pull_request_observations(moved, PATTERN)), known)
    assert [c.condition.reason for c in news.conditions] == ["PullRequestOpen"]
    assert [(c.data.what, c.data.from_, c.data.to) for c in news.changes] == [("commit", "bbb", "ccc")]


def test_a_merged_pr_says_so_and_its_merge_is_a_change() -> None:
    merged = read(state="closed", merged=True, merge_commit_sha="mmm")
    [closed] = pull_request_observations(merged, PATTERN)
    assert closed.condition.reason == "PullRequestClosed"
    assert closed.condition.labels["merged"] == "true"
    changes = emission_of(merged, [closed], {"commit/5dlabs/cto/aaa", "commit/5dlabs/cto/bbb"}).changes
    assert [(c.data.what, c.data.to) for c in changes] == [("merge", "mmm")]


def test_githubs_webhook_signature_is_checked_and_names_the_repository_to_read() -> None:
    body = b'{"action": "created"}'
    assert signed(b"s3cret", body, signature(b"s3cret", body))
    assert not signed(b"s3cret", body, signature(b"other", body))
    assert not signed(b"s3cret", body, None)
    comment = {"repository": {"full_name": "5dlabs/cto"}, "issue": {"number": 42, "pull_request": {"url": "x"}}}
    assert nudge_of("issue_comment", comment) == Nudge("5dlabs/cto", 42)
    assert nudge_of("issue_comment", {**comment, "issue": {"number": 3}}) == Nudge("5dlabs/cto", None)
    assert nudge_of("star", comment) is None


def reader(handler: Any, clock: Any = None, **settings: Any) -> GitHubReader:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://api.github.test")
    quick = RetrySettings(attempts=3, backoff_s=0.01, max_backoff_s=0.02)
    return GitHubReader(http, GitHubSettings(**settings), quick, clock or SystemClock())


async def test_a_429_is_waited_out_as_rate_limiting_and_the_read_goes_on() -> None:
    answers = [
        httpx.Response(429, headers={"retry-after": "0.2"}, json={"message": "slow down"}),
        httpx.Response(200, json=[{"number": 1}], headers={"etag": '"v1"'}),
    ]
    github = reader(lambda _request: answers.pop(0))
    started = time.monotonic()

    assert await github.get("/repos/o/r/pulls") == [{"number": 1}]

    assert time.monotonic() - started >= 0.19, "it waited as long as GitHub asked"


async def test_a_quota_spent_to_its_reserve_waits_for_the_reset() -> None:
    reset = int(time.time()) + 1
    quota = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "40", "x-ratelimit-reset": str(reset)}
    seen: list[float] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        seen.append(time.time())
        return httpx.Response(200, json={}, headers=quota)

    github = reader(answer, rate_reserve=50)
    await github.get("/rate_limit")
    await github.get("/rate_limit")

    assert seen[1] >= reset - 0.05, "the second request waited for the quota's reset"


async def test_an_unchanged_answer_is_read_from_the_cache_with_its_etag() -> None:
    asked: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json=[{"number": 1}], headers={"etag": '"v1"'})

    github = reader(answer)
    assert await github.get("/repos/o/r/pulls") == await github.get("/repos/o/r/pulls") == [{"number": 1}]
    assert asked == [None, '"v1"']
    assert github.not_modified == 1


async def test_a_repository_github_does_not_know_is_refused_not_retried() -> None:
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(404, json={"message": "Not Found"})

    with pytest.raises(Refused, match="HTTP 404"):
        await reader(answer, clock=ManualClock(NOW)).get("/repos/o/missing/pulls")
    assert calls == [1]
    await asyncio.sleep(0)
