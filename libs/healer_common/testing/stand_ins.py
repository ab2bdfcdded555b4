"""The outside systems tests stand up, as real servers on loopback ports: the Kubernetes API (kmock's emulator,
which can go down and come back), HTTP peers that answer as Slack, Loki or GitHub would, and Debian's
Prometheus scraping an exporter the test fills. healer_common.testing serves them as fixtures (`kube`, `http_peer`,
`prometheus`) and re-exports them, so tests import everything from `healer_common.testing`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import kmock
import prometheus_client
import yaml

from healer_common.runtime.servers import ServerProcess

T = TypeVar("T")


# the Kubernetes emulator --------------------------------------------------------------------------------------
class KubeEmulator:
    """kmock's KubernetesEmulator served on a loopback port from its own thread and event loop.

    Service processes reach it through the kubeconfig it writes; the test reads and seeds its objects
    through the thread-safe methods here (never by touching kmock's state from another loop).
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kube-emulator", daemon=True)
        self._stack: contextlib.AsyncExitStack | None = None
        self._server: kmock.Server | None = None
        self.emulator: kmock.KubernetesEmulator | None = None
        self.url = ""
        self.port: int | None = None

    def start(self) -> KubeEmulator:
        self._thread.start()
        self._call(self._enter())
        return self

    async def _enter(self) -> None:
        self._stack = contextlib.AsyncExitStack()
        self.emulator = await self._stack.enter_async_context(kmock.KubernetesEmulator())
        await self._serve()

    async def _serve(self) -> None:
        self._server = kmock.Server(self._em(), port=self.port)
        await self._server.__aenter__()
        # A stopped API server drops its watchers at once; aiohttp would otherwise wait a minute for them.
        self._server.server.runner._shutdown_timeout = 0.2  # type: ignore[union-attr]
        self.url = str(self._server.url).rstrip("/")
        self.port = self._server.port

    async def _close_server(self) -> None:
        if self._server is not None:
            await self._server.__aexit__(None, None, None)
            self._server = None

    def stop_server(self) -> None:
        """Take the API server down (connections refused, watches cut); its objects stay for `start_server`."""
        self._call(self._close_server())

    def start_server(self) -> None:
        """Serve the same objects again on the same port, as an API server coming back would."""
        self._call(self._serve())

    def stop(self) -> None:
        self._call(self._close_server())
        if self._stack is not None:
            self._call(self._stack.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _call(self, coro: Awaitable[T]) -> T:
        async def wrap() -> T:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(10)

    def _em(self) -> kmock.KubernetesEmulator:
        if self.emulator is None:
            raise RuntimeError("the emulator is not started")
        return self.emulator

    def put(self, group: str, version: str, plural: str, namespace: str | None, body: dict[str, Any]) -> None:
        """Store an object as if it had been created (no watch event; use the API for that)."""
        name = body["metadata"]["name"]

        async def put() -> None:
            self._em().objects[kmock.resource(group, version, plural), namespace, name] = body

        self._call(put())

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call the emulator's API over HTTP (so watchers see the change) and return the JSON answer.

        e.g. `kube.api("PATCH", "/api/v1/namespaces/cto/pods/rex-1", {"status": {...}})`.
        """

        async def call() -> dict[str, Any]:
            async with self._em().request(method, path, json=body) as response:
                answer: dict[str, Any] = await response.json()
                if response.status >= 400:
                    raise RuntimeError(f"{method} {path} answered {response.status}: {answer}")
                return answer

        return self._call(call())

    def get(self, group: str, version: str, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        async def get() -> dict[str, Any] | None:
            key = (kmock.resource(group, version, plural), namespace, name)
            objects = self._em().objects
            if key not in objects or objects[key].deleted:
                return None
            return dict(objects[key].raw)

        return self._call(get())

    def requests(self) -> list[tuple[str, str]]:
        """Every request served so far, as (METHOD, path)."""

        async def requests() -> list[tuple[str, str]]:
            return [(str(r.method.value).upper(), r.url.path) for r in list(self._em()._requests)]

        return self._call(requests())

    def requests_with_query(self) -> list[tuple[str, str, dict[str, str]]]:
        """Every request served so far, as (METHOD, path, query parameters): a list and a watch differ only there."""

        async def requests() -> list[tuple[str, str, dict[str, str]]]:
            found = list(self._em()._requests)
            return [(str(r.method.value).upper(), r.url.path, dict(r.url.query)) for r in found]

        return self._call(requests())

    def mutating_requests(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.requests() if m in {"POST", "PUT", "PATCH", "DELETE"}]

    def react(self, method: str, path: str | re.Pattern[str], reaction: Callable[[kmock.Request], Any]) -> None:
        """Answer requests kmock does not serve by itself (the Eviction API, say) with `reaction`, which runs in
        the emulator's loop and may change its objects (`self.emulator.objects`)."""

        async def install() -> None:
            self._em()[method, path] << reaction

        self._call(install())

    def write_kubeconfig(self, path: Path, context: str = "emulator") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "emulator"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
        }
        path.write_text(yaml.safe_dump(config))
        return path


def pod(namespace: str, name: str, labels: dict[str, str] | None = None, phase: str = "Running") -> dict[str, Any]:
    """A minimal Pod object as the API server returns it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "uid": uuid.uuid4().hex},
        "spec": {"containers": [{"name": name.split("-", maxsplit=1)[0], "image": "example/agent:1"}]},
        "status": {"phase": phase},
    }


# HTTP peers ---------------------------------------------------------------------------------------------------
@dataclass
class HttpPeer:
    """A local HTTP server (kmock) standing in for Slack, PagerDuty, GitHub or a webhook receiver.

    Declare answers with kmock's DSL (`peer.handler["post /hook"] << {"ok": True}`); read what was sent with
    `received()`. It runs in the test's event loop, so the test must be awaiting while peers call it.
    """

    handler: kmock.RawHandler
    url: str

    def received(self, method: str | None = None, path: str | None = None) -> list[Any]:
        return [
            r
            for r in list(self.handler._requests)
            if (method is None or str(r.method.value).upper() == method.upper())
            and (path is None or r.url.path == path)
        ]


# Prometheus ---------------------------------------------------------------------------------------------------
@dataclass
class PrometheusHarness:
    """A real Prometheus scraping, every second, an exporter whose series the test sets with prometheus-client.

    `registry` is the exporter's: create Gauges and Counters on it as kube-state-metrics or node-exporter
    would name them; `url` is the Prometheus HTTP API the collector reads.
    """

    server: ServerProcess
    registry: prometheus_client.CollectorRegistry
    exporter_url: str

    @property
    def url(self) -> str:
        return self.server.url


def answer(status: int, payload: Any = None, headers: dict[str, str] | None = None) -> Any:
    """A peer's answer with a status of its own, for reactions computed per request (`peer.handler[...] <<
    (lambda request: answer(429, ...))`). Give every such answer a status: kmock keeps the last one it sent."""
    return kmock.Response(status=status, payload=payload, headers=headers)  # type: ignore[attr-defined] # not in kmock's __all__
