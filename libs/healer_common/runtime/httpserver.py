"""Each service's small HTTP face: `/metrics` for Prometheus, `/healthz` and `/readyz` for Kubernetes probes,
plus the routes a service adds (the collector's event ingest, the remediator's approvals).
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from healer_common.errors import ConfigError

RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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
    routes: list[tuple[str, str, RouteHandler]] = field(default_factory=list)
    ssl_context: ssl.SSLContext | None = None
    _runner: web.AppRunner | None = None
    bound_port: int | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
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
        return web.json_response({"service": self.service, "alive": True})

    async def _readyz(self, _: web.Request) -> web.Response:
        ready = self.ready()
        return web.json_response({"service": self.service, "ready": ready}, status=200 if ready else 503)
