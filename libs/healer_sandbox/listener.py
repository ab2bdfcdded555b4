"""One HTTP listener on a loopback port that can be stopped and started again on the same port: what lets
the sandbox take its Kubernetes API away for a while (an API-server outage) while the cluster lives on.
Also what the query APIs (Prometheus, Loki) share: parameters from the URL or a form body.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable

from aiohttp import web

from healer_common.errors import ConfigError

RawHandler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
Handler = Callable[[web.Request], Awaitable[web.Response]]
SHUTDOWN_S = 0.25  # open watches are cut at once, as when an API server goes away
# A watch whose client went away ends, as on a real API server: aiohttp leaves a handler running after its
# client hung up unless told to cancel it, and a watch handler waits for changes for ever.
CANCEL_WHEN_CLIENT_GOES = True


class Listener:
    def __init__(self, name: str, app: web.Application | RawHandler, host: str, port: int) -> None:
        self.name, self.app, self.host, self.port = name, app, host, port
        self._runner: web.AppRunner | web.ServerRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def serving(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Listen; the first start picks a free port when the port is 0, later starts reuse it."""
        if self._runner is not None:
            return
        runner: web.AppRunner | web.ServerRunner
        if isinstance(self.app, web.Application):
            runner = web.AppRunner(
                self.app, access_log=None, shutdown_timeout=SHUTDOWN_S, handler_cancellation=CANCEL_WHEN_CLIENT_GOES
            )
        else:
            server = web.Server(self.app, access_log=None, handler_cancellation=CANCEL_WHEN_CLIENT_GOES)
            runner = web.ServerRunner(server, shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {self.port} on {self.host} for the sandbox's {self.name} is taken; choose another "
                    "or 0 for a free one",
                    field=f"--{self.name}-port",
                ) from None
            raise
        if self.port == 0:
            sockets = getattr(site._server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        self._runner = runner

    async def stop(self) -> None:
        """Stop listening and cut open connections (watches end as when the server goes away)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


async def query_params(request: web.Request) -> dict[str, str]:
    """A query API's parameters, from the URL or (POST) a form body, as Prometheus and Loki accept them."""
    form = await request.post() if request.method == "POST" else {}
    return {**{k: str(v) for k, v in form.items()}, **request.query}


def add_query_routes(app: web.Application, handlers: dict[str, Handler]) -> None:
    """Serve each query path on GET and on POST (a form body), as Prometheus and Loki do."""
    for path, handler in handlers.items():
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
