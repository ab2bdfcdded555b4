"""The sandbox's GitHub over HTTP: the slice of the REST API Healer reads and writes, as GitHub serves it.

    GET   /rate_limit
    GET   /repos/{o}/{r}/pulls[?state=open|closed|all&per_page&page]     GET /repos/{o}/{r}/pulls/{n}
    GET   /repos/{o}/{r}/pulls/{n}/commits | /reviews                      GET /repos/{o}/{r}/issues/{n}/comments
    GET   /repos/{o}/{r}/commits/{sha}/check-runs                          GET /repos/{o}/{r}/actions/runs?head_sha=
    GET   /repos/{o}/{r}/issues[?state&labels]   POST /repos/{o}/{r}/issues   PATCH /repos/{o}/{r}/issues/{n}
    POST  /repos/{o}/{r}/issues/{n}/comments

Like GitHub: every answer has an ETag, and a request whose If-None-Match names it gets 304 without spending
quota; every other request spends one of the hour's quota (x-ratelimit-limit, -remaining, -reset, -used), and
a spent quota answers 403 with x-ratelimit-remaining 0; lists are paged (per_page, page, Link: rel="next").
Webhook deliveries (GitHub's events as they happen) are POSTed to the `webhooks` URLs, signed with
X-Hub-Signature-256 under `secret`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from healer_common.logging import get_logger
from healer_sandbox.github import (
    GitHub,
    Json,
    check_json,
    commit_json,
    issue_json,
    pull_json,
    said_json,
)

log = get_logger("sandbox.github")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_PER_PAGE = 100


def _repo(request: web.Request) -> str:
    return f"{request.match_info['owner']}/{request.match_info['repo']}"


def _not_found(what: str) -> web.Response:
    return web.json_response({"message": f"Not Found: {what}", "status": "404"}, status=404)


class GitHubApi:
    def __init__(self, github: GitHub, *, webhooks: list[str] | None = None, secret: str | None = None) -> None:
        self.github = github
        self.webhooks = list(webhooks or [])
        self.secret = (secret or "").encode()
        self.requests = 0
        self._outbox: asyncio.Queue[tuple[str, Json]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        github.on_delivery = self._queue

    # the quota and the conditional requests ----------------------------------------------------------------------
    def _quota_headers(self) -> dict[str, str]:
        now = self.github.clock.now()
        quota = self.github.quota
        return {
            "x-ratelimit-limit": str(quota.limit),
            "x-ratelimit-remaining": str(quota.remaining(now)),
            "x-ratelimit-used": str(quota.used),
            "x-ratelimit-reset": str(int(quota.reset_at(now).timestamp())),
            "x-ratelimit-resource": "core",
        }

    @web.middleware
    async def _conditional(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Answer 304 for an unchanged resource (free), 403 once the quota is spent, else spend one request."""
        self.requests += 1
        if request.method != "GET" or request.path == "/rate_limit":
            if request.path != "/rate_limit" and not self.github.quota.spend(self.github.clock.now()):
                return self._spent()
            return await handler(request)
        response = await handler(request)
        if not isinstance(response, web.Response) or not isinstance(response.body, bytes | bytearray):
            return response
        etag = '"' + hashlib.sha1(response.body).hexdigest() + '"'  # noqa: S324 - a cache key, not security
        if request.headers.get("if-none-match") == etag and response.status == 200:
            return web.Response(status=304, headers={"etag": etag, **self._quota_headers()})
        if response.status < 400 and not self.github.quota.spend(self.github.clock.now()):
            return self._spent()
        response.headers.update({"etag": etag, **self._quota_headers()})
        return response

    def _spent(self) -> web.Response:
        body = {"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest/rate-limit"}
        return web.json_response(body, status=403, headers=self._quota_headers())

    # reads -----------------------------------------------------------------------------------------------------
    def _page(self, request: web.Request, items: list[Json]) -> web.Response:
        per_page = min(MAX_PER_PAGE, int(request.query.get("per_page", "30")))
        page = max(1, int(request.query.get("page", "1")))
        chosen = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            query = {**request.query, "page": str(page + 1), "per_page": str(per_page)}
            headers["link"] = f'<{request.url.with_query(query)}>; rel="next"'
        return web.json_response(chosen, headers=headers)

    async def rate_limit(self, _request: web.Request) -> web.Response:
        quota, now = self.github.quota, self.github.clock.now()
        core = {
            "limit": quota.limit,
            "remaining": quota.remaining(now),
            "used": quota.used,
            "reset": int(quota.reset_at(now).timestamp()),
        }
        return web.json_response({"resources": {"core": core}, "rate": core}, headers=self._quota_headers())

    async def pulls(self, request: web.Request) -> web.Response:
        repo = self.github.repos.get(_repo(request))
        if repo is None:
            return _not_found(_repo(request))
        state = request.query.get("state", "open")
        chosen = [p for p in repo.pulls.values() if state in ("all", p.state)]
        chosen.sort(key=lambda p: p.updated_at or p.opened_at, reverse=True)
        return self._page(request, [pull_json(repo.name, p) for p in chosen])

    async def one_pull(self, request: web.Request) -> web.Response:
        try:
            pull = self.github.pull(_repo(request), int(request.match_info["number"]))
        except KeyError as exc:
            return _not_found(str(exc))
        return web.json_response(pull_json(_repo(request), pull))

    async def pull_part(self, request: web.Request) -> web.Response:
        try:
            pull = self.github.pull(_repo(request), int(request.match_info["number"]))
        except KeyError as exc:
            return _not_found(str(exc))
        part = request.match_info["part"]
        items = {
            "commits": [commit_json(c) for c in pull.commits],
            "reviews": [said_json(r) for r in pull.reviews],
            "comments": [said_json(c) for c in pull.comments],
        }
        return self._page(request, items[part]) if part in items else _not_found(part)

    async def issue_comments(self, request: web.Request) -> web.Response:
        number, repo = int(request.match_info["number"]), self.github.repo(_repo(request))
        if number in repo.pulls:
            return self._page(request, [said_json(c) for c in repo.pulls[number].comments])
        if number in repo.issues:
            return self._page(request, [said_json(c) for c in repo.issues[number].comments])
        return _not_found(f"{repo.name}#{number}")

    def _runs(self, repo: str, sha: str, *, workflow: bool) -> list[Json]:
        pulls = self.github.repo(repo).pulls.values()
        return [check_json(r) for p in pulls for r in p.checks if r.head_sha == sha and r.workflow == workflow]

    async def check_runs(self, request: web.Request) -> web.Response:
        found = self._runs(_repo(request), request.match_info["sha"], workflow=False)
        return web.json_response({"total_count": len(found), "check_runs": found})

    async def workflow_runs(self, request: web.Request) -> web.Response:
        found = self._runs(_repo(request), request.query.get("head_sha", ""), workflow=True)
        return web.json_response({"total_count": len(found), "workflow_runs": found})

    # issues -------------------------------------------------------------------------------------------------------
    async def issues(self, request: web.Request) -> web.Response:
        repo = self.github.repo(_repo(request))
        state = request.query.get("state", "open")
        wanted = {x for x in request.query.get("labels", "").split(",") if x}
        chosen = [i for i in repo.issues.values() if (state in ("all", i.state)) and wanted <= set(i.labels)]
        chosen.sort(key=lambda i: i.opened_at, reverse=True)
        return self._page(request, [issue_json(repo.name, i) for i in chosen])

    async def open_issue(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict) or not body.get("title"):
            return web.json_response({"message": "Validation Failed: title is required"}, status=422)
        issue = self.github.open_issue(
            _repo(request), str(body["title"]), str(body.get("body") or ""), list(body.get("labels") or []), "healer"
        )
        log.info("issue opened", repo=_repo(request), number=issue.number, title=issue.title)
        return web.json_response(issue_json(_repo(request), issue), status=201)

    async def comment_issue(self, request: web.Request) -> web.Response:
        number, body = int(request.match_info["number"]), await request.json()
        repo = self.github.repo(_repo(request))
        if number in repo.pulls:
            said = self.github.comment(repo.name, number, "healer", str(body.get("body") or ""))
            return web.json_response(said_json(said), status=201)
        try:
            issue = self.github.issue(repo.name, number)
        except KeyError as exc:
            return _not_found(str(exc))
        said = self.github.say_on_issue(repo.name, issue, str(body.get("body") or ""))
        return web.json_response(said_json(said), status=201)

    async def update_issue(self, request: web.Request) -> web.Response:
        try:
            issue = self.github.issue(_repo(request), int(request.match_info["number"]))
        except KeyError as exc:
            return _not_found(str(exc))
        body = await request.json()
        issue.state = str(body.get("state") or issue.state)
        issue.state_reason = body.get("state_reason") or issue.state_reason
        issue.updated_at = self.github.clock.now()
        return web.json_response(issue_json(_repo(request), issue))

    # webhooks -----------------------------------------------------------------------------------------------------
    def _queue(self, event: str, payload: Json) -> None:
        if self.webhooks:
            self._outbox.put_nowait((event, payload))

    async def _send(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            while True:
                event, payload = await self._outbox.get()
                body = json.dumps(payload).encode()
                signature = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
                headers = {
                    "content-type": "application/json",
                    "x-github-event": event,
                    "x-github-delivery": str(uuid.uuid4()),
                    "x-hub-signature-256": signature,
                }
                for url in self.webhooks:
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.post(url, data=body, headers=headers) as answer:
                            log.debug("webhook delivered", github_event=event, url=url, status=answer.status)

    async def start(self) -> None:
        if self.webhooks and self._sender is None:
            self._sender = asyncio.create_task(self._send(), name="sandbox-github-webhooks")

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
            self._sender = None

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._conditional])
        repo = "/repos/{owner}/{repo}"
        app.router.add_get("/rate_limit", self.rate_limit)
        app.router.add_get(f"{repo}/pulls", self.pulls)
        app.router.add_get(f"{repo}/pulls/{{number:\\d+}}", self.one_pull)
        app.router.add_get(f"{repo}/pulls/{{number:\\d+}}/{{part}}", self.pull_part)
        app.router.add_get(f"{repo}/issues/{{number:\\d+}}/comments", self.issue_comments)
        app.router.add_post(f"{repo}/issues/{{number:\\d+}}/comments", self.comment_issue)
        app.router.add_get(f"{repo}/commits/{{sha}}/check-runs", self.check_runs)
        app.router.add_get(f"{repo}/actions/runs", self.workflow_runs)
        app.router.add_get(f"{repo}/issues", self.issues)
        app.router.add_post(f"{repo}/issues", self.open_issue)
        app.router.add_patch(f"{repo}/issues/{{number:\\d+}}", self.update_issue)
        return app
