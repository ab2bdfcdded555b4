"""Each service's small HTTP face: `/metrics` for Prometheus, `/healthz` and `/readyz` for Kubernetes probes,
plus the routes a service adds (the collector's event ingest, the remediator's approvals).

`/healthz` (liveness) answers 503 when the process can no longer do its work, so Kubernetes restarts it: its
NATS connection is closed for good, or a consumer is stuck (bus.py decides). `/readyz` (readiness) answers 503
while NATS or Redis is unreachable: traffic waits, nothing restarts.

Routes read their bodies with `read_body`, which caps the size while reading (chunked bodies included) and the
time a sender may take; a route refuses input by raising `HttpRefusal`, answered as `{"error": reason}` with
its status. An unexpected exception is answered 500 with its type and logged, never a stack trace to the caller.
"""

from __future__ import annotations

import asyncio
import errno
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from healer_common.errors import ConfigError
from healer_common.logging import get_logger
from healer_common.runtime.telemetry import HTTP_REFUSED

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Liveness = Callable[[], str | None]
"""None while alive; else why the process can no longer do its work."""
READ_CHUNK = 64 * 1024
SERVICE = web.AppKey("service", str)


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
    sender takes longer than `timeout_s`, 400 when it is empty or cut off."""
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
    if not size:
        raise HttpRefusal(400, "empty body; expected a JSON document")
    return b"".join(chunks)


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
        HTTP_REFUSED.labels(request.app[SERVICE], str(refusal.status)).inc()
        body = {"error": refusal.reason, **refusal.extra}
        return web.json_response(body, status=refusal.status, headers=refusal.headers)
    except web.HTTPException:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller gets a 500 with the type; the log gets the traceback
        get_logger().exception("http_handler_failed", service=request.app[SERVICE], path=request.path)
        HTTP_REFUSED.labels(request.app[SERVICE], "500").inc()
        return web.json_response({"error": f"internal error ({type(exc).__name__}); see the service's log"}, status=500)


@dataclass
class HttpEndpoint:
    service: str
    host: str
    port: int
    ready: Callable[[], bool]
    alive: Liveness = lambda: None
    max_body_bytes: int = 4 * 1024 * 1024
    routes: list[tuple[str, str, RouteHandler]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=self.max_body_bytes, middlewares=[_refusals])
        app[SERVICE] = self.service
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        for method, path, handler in self.routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
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
        return f"http://{self.host}:{self.bound_port or self.port}"

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        problem = self.alive()
        body = {"service": self.service, "alive": problem is None, **({"reason": problem} if problem else {})}
        return web.json_response(body, status=200 if problem is None else 503)

    async def _readyz(self, _: web.Request) -> web.Response:
        ready = self.ready()
        return web.json_response({"service": self.service, "ready": ready}, status=200 if ready else 503)
