"""GitHub Issues through the REST API (httpx): one issue per agent-workflow failure, comments as it
develops, closed when the incident resolves. What the issue says and which open issue an update belongs to
is decided in github_issues.py. The issue number of each incident is kept in Redis, so its next update finds
it without listing (GitHub's issue list can lag a fresh issue by seconds) and a step that arrives after the
resolution still lands on the closed issue rather than opening a new one.

    POST  /repos/{owner}/{repo}/issues                     {title, body, labels}      -> 201 {number, ...}
    POST  /repos/{owner}/{repo}/issues/{number}/comments   {body}                     -> 201
    PATCH /repos/{owner}/{repo}/issues/{number}            {state: closed, state_reason: completed}
    GET   /repos/{owner}/{repo}/issues?state=open&labels=heal,<id>
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, SecretStr
from redis.asyncio import Redis

from healer_common.clock import Clock
from healer_common.contract.notifications import Notification
from healer_common.runtime.state import KeySpace
from services.notifier.channels import github_issues as issues
from services.notifier.channels.http_answers import check, unreachable
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings

KEEP_S = 90 * 86_400
API_VERSION = "2022-11-28"


def github_http(api_url: str, token: str, timeout_s: float) -> httpx.AsyncClient:
    headers = {
        "authorization": f"Bearer {token}",
        "accept": "application/vnd.github+json",
        "x-github-api-version": API_VERSION,
        "user-agent": "healer-notifier",
    }
    return httpx.AsyncClient(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout_s)


class GitHubChannel:
    name = "github"

    def __init__(
        self,
        http: httpx.AsyncClient,
        repo: str,
        *,
        redis: Redis,
        keys: KeySpace,
        clock: Clock,
        family_window_s: float,
    ) -> None:
        self._http = http
        self._repo = repo
        self._redis = redis
        self._keys = keys
        self._clock = clock
        self._window_s = family_window_s

    def wants(self, notification: Notification) -> bool:
        return notification.incident_id is not None and issues.workflow_alert(notification) is not None

    async def send(self, notification: Notification) -> None:
        alert_id = issues.workflow_alert(notification)
        assert alert_id is not None
        number = await self._find(notification, alert_id)
        if notification.kind == "incident_resolved":
            if number is not None:
                await self._comment(number, notification)
                await self._request("PATCH", f"issues/{number}", {"state": "closed", "state_reason": "completed"})
            return
        if number is not None:
            await self._comment(number, notification)
        elif issues.opens_issue(notification):
            await self._open(notification, alert_id)

    def _index(self, notification: Notification) -> str:
        return self._keys("notifier", "github", self._repo, notification.incident_id or "")

    async def _find(self, notification: Notification, alert_id: str) -> int | None:
        known = await self._redis.get(self._index(notification))
        if known:
            return int(known)
        listed = await self._request("GET", "issues", params={"state": "open", "labels": f"heal,{alert_id.lower()}"})
        found = issues.choose_issue(
            [issues.read_issue(raw) for raw in listed if "pull_request" not in raw],
            notification.fingerprint,
            self._clock.now(),
            self._window_s,
        )
        if found is not None:
            await self._redis.set(self._index(notification), str(found), ex=KEEP_S)
        return found

    async def _open(self, notification: Notification, alert_id: str) -> None:
        body = {
            "title": issues.issue_title(notification, alert_id),
            "body": issues.issue_body(notification),
            "labels": issues.issue_labels(alert_id),
        }
        created = await self._request("POST", "issues", body)
        await self._redis.set(self._index(notification), str(created["number"]), ex=KEEP_S)

    async def _comment(self, number: int, notification: Notification) -> None:
        await self._request("POST", f"issues/{number}/comments", {"body": issues.comment_body(notification)})

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> Any:
        try:
            response = await self._http.request(method, f"/repos/{self._repo}/{path}", json=body, params=params)
        except httpx.HTTPError as exc:
            raise unreachable("github", exc) from None
        if response.status_code == 403 and response.headers.get("x-ratelimit-remaining") == "0":
            response = httpx.Response(429, headers=response.headers, request=response.request)
        check(response, "github")
        return response.json()


class GitHubSettings(ChannelSettings):
    token: SecretStr | None = Field(None, description="GitHub token for issues about workflow failures")
    repo: str | None = Field(
        None, pattern=r"^[\w.-]+/[\w.-]+$", description="owner/repo where agent-workflow failures become issues"
    )
    api_url: str = Field("https://api.github.com", description="GitHub REST API base URL")
    family_window_s: float = Field(
        1800.0, ge=0, description="an open issue of the same alert id younger than this gets a comment, not a twin"
    )

    def ready(self) -> bool:
        return self.token is not None and self.repo is not None


def _build(settings: GitHubSettings, context: ChannelContext) -> GitHubChannel:
    assert settings.token is not None
    assert settings.repo is not None
    svc = context.service
    http = github_http(settings.api_url, settings.token.get_secret_value(), context.timeout_s)
    svc.on_stop(http.aclose)
    return GitHubChannel(
        http, settings.repo, redis=svc.redis, keys=svc.keys, clock=svc.clock, family_window_s=settings.family_window_s
    )


CHANNEL = ChannelKind(
    GitHubSettings, needs="set GITHUB_TOKEN and HEALER_NOTIFIER__CHANNELS__GITHUB__REPO", build=_build
)
