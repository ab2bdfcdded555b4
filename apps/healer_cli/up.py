"""`healer up` (= `make run`): the whole system on one machine, from nothing but pip-installed wheels.

It starts `nats-server` with JetStream and `redis-server` as child processes with their data in
`--data-dir`, then the sandbox cluster (`healer sandbox`, unless `--no-sandbox` or a cluster is configured)
and, once it serves, the six services as separate OS processes pointed at it (its kubeconfig, its Prometheus
and Loki URLs); relays their output with a name prefix, restarts a child that crashes (with backoff), prints
what runs where, plays a short demo incident when there is no sandbox, and on Ctrl-C or SIGTERM stops the
children first and the servers last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path

from rich.table import Table

from healer_cli.demo import DEMO_POD, DEMO_STEPS, condition_event
from healer_cli.runtime import console, errors
from healer_cli.supervisor import Child, Supervisor, stop_leftovers
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import LOOPBACK, ServerProcess, free_port, start_nats, start_redis
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES, Settings, load_settings
from healer_sandbox import ENDPOINTS_FILE

SANDBOX_READY_S = 120.0


def _service_env(settings: Settings, nats_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    """The services' environment. Their one-line-per-message logs are for machines; on this terminal a newcomer
    should read the sandbox's story and the notifications, so the services say only warnings unless
    HEALER_LOG__LEVEL says otherwise (`healer watch` shows the flow in detail)."""
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
    env.setdefault("HEALER_LOG__LEVEL", "WARNING")
    del settings
    return env


def _where(
    nats: ServerProcess, redis: ServerProcess, settings: Settings, data_dir: Path, sandbox: dict[str, str] | None
) -> Table:
    table = Table(title="Healer is starting", title_justify="left")
    table.add_column("part")
    table.add_column("where")
    table.add_row("nats-server (JetStream)", f"{nats.url}  store: {data_dir / 'nats' / 'jetstream'}")
    table.add_row("redis-server", f"{redis.url}  data: {data_dir / 'redis'}")
    if sandbox:
        table.add_row("sandbox: Kubernetes API", f"{sandbox['kube_api']}  kubeconfig: {sandbox['kubeconfig']}")
        table.add_row("sandbox: Prometheus", sandbox["prometheus"])
        table.add_row("sandbox: Loki", sandbox["loki"])
        table.add_row("sandbox: control", f"{sandbox['control']}  (healer sandbox outage SECONDS)")
    for name in SERVICES:
        table.add_row(name, f"{_http(settings, name)}/metrics")
    table.add_row("alerts", f"subscribe to {settings.space.all_alerts} on {nats.url}")
    table.add_row("read API", f"{_http(settings, 'api')}/api/v1  (OpenAPI: /api/v1/openapi.json)")
    table.add_row("status", "healer status --all")
    table.add_row(
        "[bold]dashboard[/bold]", f"[bold]{_http(settings, 'api')}/[/bold]  (in a terminal: healer dashboard)"
    )
    return table


def _http(settings: Settings, service: str) -> str:
    port = settings.http_port(service)
    return f"http://{settings.http.host}:{port}" if port else f"http://{settings.http.host}:<free port>"


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


def _sandbox_child(env: dict[str, str], folder: Path) -> Child:
    """`healer sandbox` on free ports, so that a restart after a crash comes back where the services look."""
    ports = {f"--{name}-port": str(free_port()) for name in ("kube", "prometheus", "loki", "control")}
    command = ("-m", "healer_cli", "sandbox", "--data-dir", str(folder), *(x for p in ports.items() for x in p))
    story = {"HEALER_LOG__LEVEL": os.environ.get("HEALER_LOG__LEVEL", "INFO")}  # what the scenarios do
    return Child("sandbox", {**env, **story}, command)


async def _sandbox_endpoints(folder: Path, stop: asyncio.Event) -> dict[str, str] | None:
    """The sandbox's endpoints once it serves (it writes sandbox.json then), or None if it never does."""
    deadline = time.monotonic() + SANDBOX_READY_S
    endpoints = folder / ENDPOINTS_FILE
    while time.monotonic() < deadline and not stop.is_set():
        if endpoints.is_file():
            found: dict[str, str] = json.loads(endpoints.read_text())
            return found
        await asyncio.sleep(0.2)
    return None


def _pointed_at(env: dict[str, str], sandbox: dict[str, str]) -> dict[str, str]:
    """The services' environment, pointed at the sandbox: the remediator acts on it, the collector reads it."""
    return {
        **env,
        "HEALER_CLUSTER__KUBECONFIG": sandbox["kubeconfig"],
        "HEALER_COLLECTOR__PROMETHEUS_URL": sandbox["prometheus"],
        "HEALER_COLLECTOR__LOKI_URL": sandbox["loki"],
    }


async def _start_sandbox(
    supervisor: Supervisor, cluster: Child, folder: Path, stop: asyncio.Event, watchers: list[asyncio.Task[None]]
) -> dict[str, str] | None:
    """Start the sandbox and wait until it serves; None (stopping everything) if it never does."""
    (folder / ENDPOINTS_FILE).unlink(missing_ok=True)
    watchers.append(asyncio.create_task(supervisor.watch(cluster)))
    endpoints = await _sandbox_endpoints(folder, stop)
    if endpoints is None and not stop.is_set():
        errors.print(f"[red]the sandbox cluster did not start within {SANDBOX_READY_S:.0f}s; stopping[/red]")
        stop.set()
    return endpoints


def _start_services(
    supervisor: Supervisor, env: dict[str, str], watchers: list[asyncio.Task[None]], skip: Child | None
) -> None:
    for child in supervisor.children:
        if child is not skip:
            child.env = env
            watchers.append(asyncio.create_task(supervisor.watch(child)))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def up(data_dir: Path, nats_port: int, redis_port: int, demo: bool, config: Path | None, sandbox: bool) -> int:
    """Run everything until a signal; `data_dir` and `config` are absolute paths."""
    pid_file = data_dir / "children.pids"
    if leftovers := stop_leftovers(pid_file):
        console.print(f"stopped {len(leftovers)} process(es) an earlier healer up left running: {leftovers}")
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
    if sandbox and settings.cluster.configured:
        console.print("a cluster is configured in the settings, so the sandbox cluster is not started")
    stop = _stop_on_signals()
    folder = data_dir / "sandbox"
    cluster = _sandbox_child(env, folder) if sandbox and not settings.cluster.configured else None
    children = [*([cluster] if cluster else []), *(Child(name, env) for name in SERVICES)]
    supervisor = Supervisor(children, pid_file, servers=(nats.process.pid, redis.process.pid))
    watchers: list[asyncio.Task[None]] = []
    demo_task: asyncio.Task[None] | None = None
    endpoints = None
    try:
        if cluster is not None:
            endpoints = await _start_sandbox(supervisor, cluster, folder, stop, watchers)
        if not stop.is_set():
            _start_services(supervisor, _pointed_at(env, endpoints) if endpoints else env, watchers, cluster)
            console.print(_where(nats, redis, settings, data_dir, endpoints))
            if demo and cluster is None:
                demo_task = asyncio.create_task(_play_demo(settings, stop))
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
    return 1 if cluster is not None and endpoints is None else 0
