"""Each service's small HTTP face: `/metrics` for Prometheus, `/healthz` and `/readyz` for Kubernetes probes,
plus the routes a service adds (the collector's event ingest, the remediator's approvals).

`/healthz` (liveness) answers 503 when the process can no longer do its work, so Kubernetes restarts it: its
NATS connection is closed for good, or a consumer is stuck (bus.py decides). `/readyz` (readiness) answers 503
while NATS or Redis is unreachable: traffic waits, nothing restarts.

Routes read their bodies with `request_body`, which caps the size while reading (chunked bodies included) and
the time a sender may take, once per request (the auth gate and the route share it); a route refuses input by
raising `HttpRefusal`, answered as `{"error": reason}` with its status. An unexpected exception is answered 500
with its type and logged, never a stack trace to the caller. Every refusal, the auth gate's included, is counted
in `healer_http_refused_total{service, route, status, reason}`.
"""

from __future__ import annotations

import asyncio
import errno
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, generate_latest

from healer_common.errors import ConfigError
from healer_common.logging import get_logger

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Liveness = Callable[[], str | None]
"""None while alive; else why the process can no longer do its work."""
READ_CHUNK = 64 * 1024
SERVICE = web.AppKey("service", str)
BODY_LIMITS = web.AppKey("body_limits", tuple[int, float])
BODY = "healer.body"
HTTP_REFUSED = Counter(
    "healer_http_refused_total",
    "HTTP requests refused: for want of credentials (401) or a scope (403), or for their input (4xx), by route "
    "and reason",
    ["service", "route", "status", "reason"],
)
REASONS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    408: "too_slow",
    409: "conflict",
    413: "too_large",
    415: "media_type",
}


def route_of(request: web.Request) -> str:
    """The route's pattern (`/events/{source}`), never the raw path: a label must not grow with the input."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


class HttpRefusal(Exception):
    """A request refused with a 4xx (or 5xx) status and a reason the sender can act on."""

    def __init__(self, status: int, reason: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
        self.extra = extra


def media_type(request: web.Request) -> str:
    """The request's media type without parameters, lower-cased ('' when none was sent)."""
    raw = request.headers.get("Content-Type", "")
    return raw.split(";", 1)[0].strip().lower()


def require_media_type(request: web.Request, accepted: tuple[str, ...]) -> str:
    """The request's media type, or 415 naming what the route accepts."""
    found = media_type(request)
    if found not in accepted:
        raise HttpRefusal(
            415, f"Content-Type {found or '(none)'!r} is not accepted here; send one of {', '.join(accepted)}"
        )
    return found


async def read_body(request: web.Request, *, limit: int, timeout_s: float, setting: str) -> bytes:
    """The whole body, read in chunks: 413 as soon as it passes `limit` bytes (declared or not), 408 when the
    sender takes longer than `timeout_s`, 400 when it is cut off. An empty body is b"" (the route judges it)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise HttpRefusal(413, f"body of {declared} bytes exceeds {setting}={limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            while chunk := await request.content.read(READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise HttpRefusal(413, f"body passed {setting}={limit} bytes while being read")
                chunks.append(chunk)
    except TimeoutError:
        raise HttpRefusal(408, f"body not received within {timeout_s:g}s (limits.body_timeout_s)") from None
    except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
        raise HttpRefusal(400, f"body cut off after {size} bytes: {type(exc).__name__}") from None
    return b"".join(chunks)


async def request_body(request: web.Request) -> bytes:
    """The request's body, read once within the endpoint's limits (`limits.body_bytes`, `limits.body_timeout_s`)
    and kept for whoever asks next: the auth gate checking a signature, then the route."""
    cached: bytes | None = request.get(BODY)
    if cached is None:
        limit, timeout_s = request.app[BODY_LIMITS]
        cached = request[BODY] = await read_body(request, limit=limit, timeout_s=timeout_s, setting="limits.body_bytes")
    return cached


def parse_object(body: bytes, example: str) -> dict[str, Any]:
    """A JSON object from a body, or 400 saying what was expected (`example`)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise HttpRefusal(400, f"body must be JSON: {example}") from None
    if not isinstance(value, dict):
        raise HttpRefusal(400, f"body must be a JSON object, not {type(value).__name__}: {example}")
    return value


@web.middleware
async def _refusals(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except HttpRefusal as refusal:
        reason = REASONS.get(refusal.status, "refused")
        HTTP_REFUSED.labels(request.app[SERVICE], route_of(request), str(refusal.status), reason).inc()
        body = {"error": refusal.reason, **refusal.extra}
        return web.json_response(body, status=refusal.status, headers=refusal.headers)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller gets a 500 with the type; the log gets the traceback
        get_logger().exception("http_handler_failed", service=request.app[SERVICE], path=request.path)
        HTTP_REFUSED.labels(request.app[SERVICE], route_of(request), "500", "internal").inc()
        return web.json_response({"error": f"internal error ({type(exc).__name__}); see the service's log"}, status=500)


def server_tls(cert_file: Path | None, key_file: Path | None, client_ca_file: Path | None) -> ssl.SSLContext | None:
    """HTTPS for a service's endpoint when a certificate is configured; client certificates required with a CA."""
    if cert_file is None:
        return None
    context = ssl.create_default_context(
        ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca_file) if client_ca_file else None
    )
    context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    if client_ca_file is not None:
        context.verify_mode = ssl.CERT_REQUIRED
    return context


@dataclass
class HttpEndpoint:
    service: str
    host: str
    port: int
    ready: Callable[[], bool]
    alive: Liveness = lambda: None
    max_body_bytes: int = 4 * 1024 * 1024
    body_timeout_s: float = 10.0
    routes: list[tuple[str, str, RouteHandler]] = field(default_factory=list)
    ssl_context: ssl.SSLContext | None = None
    _runner: web.AppRunner | None = None
    bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_body_bytes, middlewares=[_refusals])
        app[SERVICE] = self.service
        app[BODY_LIMITS] = (self.max_body_bytes, self.body_timeout_s)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {self.port} on {self.host} for {self.service}'s HTTP endpoint is taken; stop what "
                    "holds it, or set HEALER_HTTP__BASE_PORT (0 picks free ports) or HEALER_HTTP__PORT",
                    field="http.base_port",
                ) from None
            raise
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.bound_port or self.port}"

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        problem = self.alive()
        body = {"service": self.service, "alive": problem is None, **({"reason": problem} if problem else {})}
        return web.json_response(body, status=200 if problem is None else 503)

    async def _readyz(self, _: web.Request) -> web.Response:
        ready = self.ready()
        return web.json_response({"service": self.service, "ready": ready}, status=200 if ready else 503)
