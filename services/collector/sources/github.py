"""The github source: the open pull requests of `github.repositories`, read over GitHub's REST API with
conditional requests, within the rate limit, every `github.interval_s` and at once when a signed webhook says
a repository changed (handlers.py calls `nudge`).

    GET /repos/{repo}/pulls?state=open              the open PRs; one that leaves the list is read alone
    GET /repos/{repo}/issues/{n}/comments           comments         GET /repos/{repo}/pulls/{n}/reviews
    GET /repos/{repo}/pulls/{n}/commits             commits          (followed by their Link: rel="next")
    GET /repos/{repo}/commits/{sha}/check-runs      GET /repos/{repo}/actions/runs?head_sha={sha}

Every GET sends the ETag of its last answer (`If-None-Match`); a 304 reuses that answer and does not count
against GitHub's quota. The quota left is read from each answer's headers: below `github.rate_reserve` the
source waits for the window's reset instead of spending the rest, and it publishes the quota as the series
`ratelimit_remaining_ratio{target="github"}` (with the remaining count, the reset, and when at its recent rate
it runs out: `ratelimit_exhausted_in_seconds`), so the detector warns before it does. A 429, or a 403 with no
quota left, is rate limiting (waited out), never the network. What cannot be read is reported to the source's
sight (SourceUnreachable -> H0).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from healer_common.clock import Clock
from healer_common.contract.events import MetricSample
from healer_common.settings.collector import RetrySettings
from healer_common.settings.github import GitHubSettings
from services.collector.backoff import Backoff, stop_if_cancelled
from services.collector.observations import Emission, Json
from services.collector.outbox import Outbox
from services.collector.sight import SourceSight
from services.collector.sources.pull_requests import (
    PullRequestRead,
    closed_read,
    emission_of,
    pull_request_observations,
)
from services.collector.sources.quota import QuotaTrend
from services.collector.sources.ratelimit import RateLimit, rate_limit, seconds_until
from services.collector.transitions import TransitionMemory

SOURCE = "github"
API_VERSION = "2022-11-28"
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')
MAX_WAIT_S = 3_600.0


class Unreachable(Exception):
    """GitHub gave no useful answer after every try (connection, timeout, 5xx, 401)."""


class Refused(Exception):
    """GitHub answered no to this request (404, 403 without a quota problem, 422): the others go on."""


@dataclass
class GitHubReader:
    """GETs with ETags, retries and the quota respected; `quota` is the last quota GitHub announced."""

    http: httpx.AsyncClient
    settings: GitHubSettings
    retry: RetrySettings
    clock: Clock
    quota: RateLimit | None = None
    resume_at: dt.datetime | None = None
    requests: int = 0
    not_modified: int = 0
    _cache: dict[str, _Page] = field(default_factory=dict)

    async def get(self, url: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON at `url` (path or absolute), from the cache when GitHub says it has not changed."""
        return (await self.page(url, params)).body

    async def page(self, url: str, params: dict[str, Any] | None = None) -> _Page:
        """One answer with the link to the next page, if any."""
        key = str(httpx.URL(url, params=params))
        backoff = Backoff(self.retry)
        error = "no attempt made"
        failure: type[Exception] = Unreachable
        for attempt in range(1, self.retry.attempts + 1):
            await self._within_quota()
            cached = self._cache.get(key)
            headers = {"if-none-match": cached.etag} if cached else {}
            try:
                response = await self.http.get(url, params=params, headers=headers)
            except httpx.TransportError as exc:
                stop_if_cancelled()
                error = f"{type(exc).__name__}: {exc}".strip(": ")
            else:
                stop_if_cancelled()
                self.requests += 1
                answer = self._answer(key, response, cached)
                if isinstance(answer, _Page):
                    return answer
                error, failure = answer.error, Refused if answer.wait_s is not None else Unreachable
                if answer.wait_s is not None:
                    await asyncio.sleep(min(answer.wait_s, MAX_WAIT_S))
                    continue
            if attempt < self.retry.attempts:
                await asyncio.sleep(backoff.next())
        raise failure(f"{url}: {error}")

    def _answer(self, key: str, response: httpx.Response, cached: _Page | None) -> _Page | _Retry:
        now = self.clock.now()
        self.quota = rate_limit(response.headers, now) or self.quota
        if response.status_code == 304 and cached is not None:
            self.not_modified += 1
            return cached
        if response.status_code < 300:
            found = _NEXT.search(response.headers.get("link", ""))
            page = _Page(response.headers.get("etag", ""), response.json(), found.group(1) if found else None)
            if page.etag:
                self._cache[key] = page
            return page
        if (limited := self._rate_limited(response, now)) is not None:
            return limited
        text = response.text[:200].replace("\n", " ")
        problem = f"HTTP {response.status_code} from {response.request.url.path}: {text}"
        if response.status_code == 401:
            raise Unreachable(f"{problem} (check github.token)")
        if response.status_code >= 500:
            return _Retry(problem, None)
        raise Refused(problem)

    def _rate_limited(self, response: httpx.Response, now: dt.datetime) -> _Retry | None:
        """A 429, or a 403 with no quota left: wait as long as GitHub says, then try again."""
        spent = response.headers.get("x-ratelimit-remaining") == "0"
        if response.status_code != 429 and not (response.status_code == 403 and spent):
            return None
        wait = seconds_until(response.headers.get("retry-after"), now)
        if wait is None:
            wait = seconds_until(response.headers.get("x-ratelimit-reset"), now) or 60.0
        self.resume_at = now + dt.timedelta(seconds=wait)
        return _Retry(f"rate limited by GitHub for {wait:.0f}s (HTTP {response.status_code})", wait)

    async def _within_quota(self) -> None:
        """Wait for the quota window's reset when spending more would go below the reserve."""
        quota, now = self.quota, self.clock.now()
        if quota is not None and quota.remaining is not None and quota.remaining <= self.settings.rate_reserve:
            if quota.reset_s:
                self.resume_at = max(self.resume_at or now, now + dt.timedelta(seconds=quota.reset_s))
            self.quota = None  # the reset brings a fresh quota; the next answer says how much
        if self.resume_at is not None and self.resume_at > now:
            await asyncio.sleep(min((self.resume_at - now).total_seconds(), MAX_WAIT_S))
        self.resume_at = None

    async def pages(self, url: str, params: dict[str, Any]) -> list[Json]:
        """Every item of a paginated list, following Link: rel="next" up to `github.max_pages` pages."""
        items: list[Json] = []
        next_url: str | None = url
        query: dict[str, Any] | None = {**params, "per_page": 100}
        for _ in range(self.settings.max_pages):
            if next_url is None:
                break
            page = await self.page(next_url, query)
            items.extend(page.body if isinstance(page.body, list) else [])
            next_url, query = page.next, None  # GitHub's next link carries its own query
        return items


@dataclass(frozen=True)
class _Page:
    etag: str
    body: Any
    next: str | None


@dataclass(frozen=True)
class _Retry:
    error: str
    wait_s: float | None


def github_http(settings: GitHubSettings) -> httpx.AsyncClient:
    headers = {
        "accept": "application/vnd.github+json",
        "x-github-api-version": API_VERSION,
        "user-agent": "healer-collector",
    }
    if settings.token is not None:
        headers["authorization"] = f"Bearer {settings.token.get_secret_value()}"
    return httpx.AsyncClient(base_url=settings.api_url.rstrip("/"), headers=headers, timeout=settings.timeout_s)


class GitHubSource:
    def __init__(
        self, settings: GitHubSettings, retry: RetrySettings, sight: SourceSight, outbox: Outbox, clock: Clock
    ) -> None:
        self._settings = settings
        self._retry = retry
        self._sight = sight
        self._outbox = outbox
        self._clock = clock
        self._memory = TransitionMemory()
        self._known: dict[str, set[str]] = {}
        self._open: dict[str, set[int]] = {}
        self._nudged: set[str] = set()
        self._wake = asyncio.Event()
        self._trend = QuotaTrend()
        self.reader: GitHubReader | None = None

    def nudge(self, repo: str) -> bool:
        """Read `repo` now (a webhook said it changed); False when it is not a watched repository."""
        if repo not in self._settings.repositories:
            return False
        self._nudged.add(repo)
        self._wake.set()
        return True

    async def run(self) -> None:
        async with github_http(self._settings) as http:
            self.reader = GitHubReader(http, self._settings, self._retry, self._clock)
            repos = list(self._settings.repositories)
            while True:
                for repo in repos:
                    await self._read_repo(self.reader, repo)
                await self._outbox.emit(SOURCE, Emission(samples=self._quota_samples()))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._settings.interval_s)
                self._wake.clear()
                repos = sorted(self._nudged) or list(self._settings.repositories)
                self._nudged.clear()

    async def _read_repo(self, reader: GitHubReader, repo: str) -> None:
        now = self._clock.now()
        try:
            pulls = await reader.get(
                f"/repos/{repo}/pulls",
                {"state": "open", "per_page": self._settings.max_pull_requests, "sort": "updated", "direction": "desc"},
            )
            reads = [await self._read_pull(reader, repo, pull) for pull in pulls]
            open_now = {read.number for read in reads}
            gone = sorted(self._open.get(repo, set()) - open_now)
            reads += [closed_read(repo, await reader.get(f"/repos/{repo}/pulls/{n}")) for n in gone]
        except Unreachable as exc:
            await self._outbox.emit(SOURCE, Emission(conditions=self._sight.unreachable(repo, str(exc), now)))
            return
        except Refused as exc:
            await self._outbox.emit(SOURCE, Emission(conditions=self._sight.degraded(repo, str(exc), now)))
            return
        self._open[repo] = open_now
        emission = Emission(conditions=self._sight.reached(repo, now))
        for read in reads:
            emission.add(self._news(read))
        await self._outbox.emit(SOURCE, emission)

    async def _read_pull(self, reader: GitHubReader, repo: str, pull: Json) -> PullRequestRead:
        number, sha = pull["number"], (pull.get("head") or {}).get("sha") or ""
        read = PullRequestRead(repo=repo, pull=pull)
        read.comments = await reader.pages(f"/repos/{repo}/issues/{number}/comments", {})
        read.reviews = await reader.pages(f"/repos/{repo}/pulls/{number}/reviews", {})
        read.commits = await reader.pages(f"/repos/{repo}/pulls/{number}/commits", {})
        if sha:
            checks = await reader.get(f"/repos/{repo}/commits/{sha}/check-runs", {"per_page": 100})
            read.check_runs = list(checks.get("check_runs") or [])
            runs = await reader.get(f"/repos/{repo}/actions/runs", {"head_sha": sha, "per_page": 50})
            read.workflow_runs = list(runs.get("workflow_runs") or [])
        return read

    def _news(self, read: PullRequestRead) -> Emission:
        observations = pull_request_observations(read, self._settings.task_pattern)
        new = self._memory.changes(read.name, observations)
        emission = emission_of(read, new, self._known.setdefault(read.name, set()))
        if read.pull.get("state") == "closed":
            self._memory.forget(read.name)
            self._known.pop(read.name, None)
        return emission

    def _quota_samples(self) -> list[MetricSample]:
        quota = self.reader.quota if self.reader is not None else None
        if quota is None:
            return []
        now, labels = self._clock.now(), {"target": SOURCE}
        values = {
            "ratelimit_remaining_ratio": quota.remaining_ratio,
            "probe_ratelimit_remaining": quota.remaining,
            "probe_ratelimit_reset_seconds": quota.reset_s,
            "ratelimit_exhausted_in_seconds": self._trend.exhausted_in(SOURCE, quota, now.timestamp()),
        }
        return [MetricSample(name=k, value=v, labels=labels, time=now) for k, v in values.items() if v is not None]
