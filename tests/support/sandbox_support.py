"""What the sandbox's integration tests share: a sandbox running in the test's event loop (its clock the
test's to move), the official Kubernetes client pointed at its kubeconfig, and a way to call that
synchronous client without blocking the loop the sandbox serves from."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kubernetes import client, config, watch

from healer_common.clock import ManualClock
from healer_common.testing import eventually
from healer_sandbox.sandbox import Sandbox, SandboxConfig

T = TypeVar("T")


@contextlib.asynccontextmanager
async def running_sandbox(
    workdir: Path, *scenarios: str, pods: int = 0, clock: ManualClock | None = None, **settings: Any
) -> AsyncIterator[Sandbox]:
    """A sandbox with the chosen scenarios (none: only the base cluster) until the block ends."""
    chosen = list(scenarios) or [str(Path(__file__).with_name("sandbox_empty.yaml"))]
    options = SandboxConfig(workdir=workdir / "sandbox", scenarios=chosen, pods=pods, tick_s=0.1, **settings)
    async with Sandbox(options, clock) as sandbox:
        yield sandbox


def manual_clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


def kube(sandbox: Sandbox) -> client.ApiClient:
    return client_for(sandbox.config.kubeconfig)


def client_for(kubeconfig: Path) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    return api


def watch_events(list_call: Callable[..., Any], *args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """The official client's watch of `list_call` (its events: type, object, raw_object)."""
    stream: Iterator[dict[str, Any]] = watch.Watch().stream(list_call, *args, **kwargs)  # type: ignore[no-untyped-call]
    return stream


async def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking client call in a thread, so the sandbox keeps serving meanwhile."""
    return await asyncio.to_thread(function, *args, **kwargs)


def collect(stream: Iterator[dict[str, Any]], into: list[dict[str, Any]]) -> None:
    """Run a watch to its end (timeoutSeconds, or a cut connection), keeping each event's type and object."""
    into.extend({"type": event["type"], "object": event["raw_object"]} for event in stream)


async def start_watch(
    sandbox: Sandbox, into: list[dict[str, Any]], list_call: Callable[..., Any], *args: Any, **kwargs: Any
) -> asyncio.Task[None]:
    """A watch running in a thread and collecting into `into`, returned once the sandbox has it connected."""
    watchers = sandbox.api.store.watcher_count()
    task = asyncio.create_task(call(collect, watch_events(list_call, *args, **kwargs), into))
    await eventually(lambda: sandbox.api.store.watcher_count() > watchers, what="the watch connected")
    return task


async def advance(sandbox: Sandbox, clock: ManualClock, seconds: float, *, step: float = 1.0) -> None:
    """Move the sandbox's clock on by `seconds`, stepping the world (and scraping) as its ticks would."""
    moved = 0.0
    while moved < seconds:
        clock.advance(step)
        moved += step
        sandbox.world.step()
        sandbox.world.scrape()
        await asyncio.sleep(0)


async def prometheus(sandbox: Sandbox, signal: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    """The current series of a signal, asked as the collector's query pack asks: `# healer:<signal>`."""
    async with httpx.AsyncClient(base_url=sandbox.prometheus.url) as http:
        reply = await http.get("/api/v1/query", params={"query": f"# healer:{signal}\nsum by (x) (whatever)"})
    reply.raise_for_status()
    found = [(r["metric"], float(r["value"][1])) for r in reply.json()["data"]["result"]]
    return [(m, v) for m, v in found if all(m.get(k) == want for k, want in labels.items())]


async def loki_lines(sandbox: Sandbox, query: str, since: dt.datetime) -> list[str]:
    async with httpx.AsyncClient(base_url=sandbox.loki.url) as http:
        params = {"query": query, "start": str(int(since.timestamp() * 1e9)), "limit": "1000"}
        reply = await http.get("/loki/api/v1/query_range", params=params)
    reply.raise_for_status()
    return [line for stream in reply.json()["data"]["result"] for _, line in stream["values"]]
