"""`healer up` (= `make run`): the whole system on one machine, from nothing but pip-installed wheels.

It starts `nats-server` with JetStream and `redis-server` as child processes with their data in
`--data-dir`, then the six services as separate OS processes, relays their output with a name prefix,
restarts a service that crashes (with backoff), prints what runs where, plays a short demo incident, and on
Ctrl-C or SIGTERM stops the services first and the servers last.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.table import Table

from healer_cli.demo import DEMO_POD, DEMO_STEPS, condition_event
from healer_cli.runtime import console, errors
from healer_common.busclient import BusClient
from healer_common.heartbeat import read_heartbeats
from healer_common.servers import LOOPBACK, ServerProcess, start_nats, start_redis
from healer_common.settings import SERVICES, Settings, load_settings
from healer_common.state import KeySpace, connect_redis

COLOURS = {
    "collector": "cyan",
    "detector": "magenta",
    "correlator": "blue",
    "remediator": "yellow",
    "notifier": "green",
    "memory-bridge": "bright_black",
}
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class Child:
    """One service process under supervision."""

    name: str
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    relays: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def module(self) -> str:
        return f"services.{self.name.replace('-', '_')}"


async def _relay(name: str, stream: asyncio.StreamReader | None) -> None:
    if stream is None:
        return
    colour = COLOURS.get(name, "white")
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        console.print(f"[{colour}]{name:>13}[/{colour}] │ ", end="", highlight=False)
        console.print(text, markup=False, highlight=False, soft_wrap=True)


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = asyncio.Event()

    async def start(self, child: Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            child.module,
            env=child.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        child.started_at = time.monotonic()
        child.relays = [
            asyncio.create_task(_relay(child.name, child.process.stdout)),
            asyncio.create_task(_relay(child.name, child.process.stderr)),
        ]

    async def watch(self, child: Child) -> None:
        """Keep one service running: restart it after a crash, backing off while it keeps crashing."""
        while not self.stopping.is_set():
            await self.start(child)
            assert child.process is not None
            code = await child.process.wait()
            await asyncio.gather(*child.relays, return_exceptions=True)
            if self.stopping.is_set():
                return
            if time.monotonic() - child.started_at > STABLE_AFTER_S:
                child.restarts = 0
            delay = min(MAX_BACKOFF_S, 2.0**child.restarts)
            child.restarts += 1
            errors.print(
                f"[red]{child.name} exited with code {code}; restarting in {delay:.0f}s "
                f"(restart #{child.restarts})[/red]"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)

    async def stop(self, grace_s: float = 10.0) -> None:
        self.stopping.set()
        running = [c.process for c in self.children if c.process and c.process.returncode is None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in running:
            try:
                await asyncio.wait_for(proc.wait(), timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


def _service_env(settings: Settings, nats_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HEALER_NATS__URL": nats_url,
            "HEALER_REDIS__URL": redis_url,
            "HEALER_MEMORY__STORE_PATH": str(data_dir / "memory.sqlite3"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("HEALER_LOG__FORMAT", "console")
    del settings
    return env


def _where(nats: ServerProcess, redis: ServerProcess, settings: Settings, data_dir: Path) -> Table:
    table = Table(title="Healer is starting", title_justify="left")
    table.add_column("part")
    table.add_column("where")
    table.add_row("nats-server (JetStream)", f"{nats.url}  store: {data_dir / 'nats' / 'jetstream'}")
    table.add_row("redis-server", f"{redis.url}  data: {data_dir / 'redis'}")
    for name in SERVICES:
        table.add_row(name, f"http://{settings.http.host}:{settings.http_port(name)}/metrics")
    table.add_row("alerts", f"subscribe to {settings.space.all_alerts} on {nats.url}")
    table.add_row("status", "healer status --all")
    return table


async def _wait_for_services(settings: Settings, deadline_s: float) -> bool:
    redis = connect_redis(settings)
    try:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ConnectionError):
                beats = await read_heartbeats(redis, KeySpace(settings.redis.key_prefix))
                if {b.service for b in beats if b.state == "running"} >= set(SERVICES):
                    return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await redis.aclose()


async def _play_demo(settings: Settings, stop: asyncio.Event) -> None:
    if not await _wait_for_services(settings, 60.0):
        errors.print("[yellow]not every service reported in within 60s; playing the demo anyway[/yellow]")
    async with BusClient(settings, name="healer-demo") as bus:
        started = time.monotonic()
        for at, reason, message in DEMO_STEPS:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, at - (time.monotonic() - started)))
            if stop.is_set():
                return
            event = condition_event(DEMO_POD, reason, message=message, source="healer-demo")
            await bus.publish_raw(
                settings.space.custom_events("demo"),
                event.model_dump_json().encode(),
                {"Nats-Msg-Id": f"demo-{event.id}"},
            )
            console.print(
                f"[bold]demo[/bold] published {reason} for pod {DEMO_POD} on {settings.space.custom_events('demo')}",
                highlight=False,
            )


async def up(data_dir: Path, nats_port: int, redis_port: int, demo: bool, config: Path | None) -> int:
    """Run everything until a signal; `data_dir` and `config` are absolute paths."""
    nats = start_nats(data_dir / "nats", nats_port, LOOPBACK)
    try:
        redis = start_redis(data_dir / "redis", redis_port, LOOPBACK)
    except Exception:
        nats.stop()
        raise
    nats_url, redis_url = nats.url, f"{redis.url}/0"
    settings = load_settings(config, nats={"url": nats_url}, redis={"url": redis_url})
    env = _service_env(settings, nats_url, redis_url, data_dir)
    if config is not None:
        env["HEALER_CONFIG"] = str(config)
    console.print(_where(nats, redis, settings, data_dir))
    supervisor = Supervisor([Child(name, env) for name in SERVICES])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watchers = [asyncio.create_task(supervisor.watch(child)) for child in supervisor.children]
    demo_task = asyncio.create_task(_play_demo(settings, stop)) if demo else None
    try:
        await stop.wait()
    finally:
        console.print("[bold]stopping Healer…[/bold]")
        if demo_task:
            demo_task.cancel()
        await supervisor.stop()
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        redis.stop()
        nats.stop()
        console.print("[bold]stopped.[/bold]")
    return 0
