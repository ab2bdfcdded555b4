"""`healer up` (= `make run`): the whole system on one machine, from nothing but pip-installed wheels.

It loads and checks the settings first (a bad one is one line and exit 2, with nothing started), then starts
`nats-server` with JetStream and `redis-server` as child processes with their data in `--data-dir`, then the
sandbox cluster (`healer sandbox`, unless `--no-sandbox` or a cluster is configured) and, once it serves, the
six services as separate OS processes pointed at it (its kubeconfig, its Prometheus and Loki URLs); relays their
output with a name prefix, restarts a child or a server that dies (with backoff), prints what runs where (and
the local credentials it wrote at first start to `<data-dir>/credentials.yaml`, which the services and the CLI
read), plays a short demo incident when there is no sandbox, and on Ctrl-C, SIGTERM, SIGHUP or any failure of
its own stops the children first and the servers last.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.credentials import ensure_local_credentials
from healer_cli.demo import DEMO_POD, DEMO_STEPS, condition_event
from healer_cli.runtime import ConfigOption, console, errors, line, run
from healer_cli.supervisor import Child, KeptServer, Supervisor, stop_leftovers
from healer_cli.tables import Column, show
from healer_common.errors import ConfigError
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import (
    LOOPBACK,
    NatsCluster,
    ServerProcess,
    free_port,
    nats_server_binary,
    port_in_use,
    redis_server_binary,
    start_nats,
    start_redis,
)
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES, Settings, load_settings
from healer_sandbox import ENDPOINTS_FILE

SANDBOX_READY_S = 120.0
CREDENTIALS_FILE = "credentials.yaml"
HA_NODES = 3
SECOND_REPLICA_OFFSET = 10  # a second replica's HTTP port: its first's + 10 (9480 for the collector)
SECOND_REPLICA = 1  # replicas are keyed as the test harness keys them: `detector`, then `detector#1`


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
            "HEALER_AUTH__CREDENTIALS_FILE": str(data_dir / CREDENTIALS_FILE),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.setdefault("HEALER_LOG__FORMAT", "console")
    env.setdefault("HEALER_LOG__LEVEL", "WARNING")
    del settings
    return env


def _where(servers: list[ServerProcess], settings: Settings, data_dir: Path, sandbox: dict[str, str] | None) -> None:
    *nodes, redis = servers
    rows = [["nats-server (JetStream)", f"{node.url}  store: {node.data_dir / 'jetstream'}"] for node in nodes]
    rows.append(["redis-server", f"{redis.url}  data: {data_dir / 'redis'}"])
    if sandbox:
        rows += [
            ["sandbox: Kubernetes API", f"{sandbox['kube_api']}  kubeconfig: {sandbox['kubeconfig']}"],
            ["sandbox: Prometheus", sandbox["prometheus"]],
            ["sandbox: Loki", sandbox["loki"]],
            ["sandbox: GitHub", f"{sandbox['github']}  repositories: {sandbox['github_repositories']}"],
            ["sandbox: control", f"{sandbox['control']}  (healer sandbox outage SECONDS)"],
        ]
    rows += [[name, f"{_http(settings, name)}/metrics"] for name in SERVICES]
    if len(nodes) > 1:
        rows += [[f"{name}#{SECOND_REPLICA}", f"{_http(settings, name, second=True)}/metrics"] for name in SERVICES]
    rows += [
        ["alerts", f"subscribe to {settings.space.all_alerts} on {nodes[0].url}"],
        ["read API", f"{_http(settings, 'api')}/api/v1  (OpenAPI: /api/v1/openapi.json)"],
        ["status", "healer status --all"],
        ["dashboard", f"{_http(settings, 'api')}/  (in a terminal: healer dashboard)"],
    ]
    where = data_dir / CREDENTIALS_FILE
    by_default = where == Path(".healer", CREDENTIALS_FILE).resolve()
    hint = "the CLI signs with local-admin from here" if by_default else f"export HEALER_AUTH__CREDENTIALS_FILE={where}"
    rows += [
        ["credentials", f"{where}  ({hint})"],
        [
            "security",
            "HTTP ingest and approvals want a token from that file; NATS and Redis are open to anyone on this "
            "machine (loopback only): fine for a demo, never for a cluster (docs/security.md)",
        ],
    ]
    show(console, [Column("part", key=True), Column("where")], rows, title="Healer is starting")
    console.print(f"[bold]Open the dashboard: {_http(settings, 'api')}/[/bold]", highlight=False)


def _http(settings: Settings, service: str, *, second: bool = False) -> str:
    port = _second_port(settings, service) if second else settings.http_port(service)
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
        line(("not every service reported in within 60s; playing the demo anyway", "yellow"), to=errors)
    async with BusClient(settings, name="healer-demo") as bus:
        started = time.monotonic()
        for at, reason, message in DEMO_STEPS:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, at - (time.monotonic() - started)))
            if stop.is_set():
                return
            event = condition_event(DEMO_POD, reason, message=message, source="healer-demo")
            await bus.publish_event(settings.space.custom_events("demo"), event)
            line(("demo", "bold"), f" published {reason} for pod {DEMO_POD} on {settings.space.custom_events('demo')}")


def _second_port(settings: Settings, service: str) -> int:
    port = settings.http_port(service)
    return port + SECOND_REPLICA_OFFSET if port else 0


def _second_replica(settings: Settings, service: str, env: dict[str, str]) -> Child:
    """The second replica of a service (`--ha`): the same, on its own HTTP port."""
    return Child(
        f"{service}#{SECOND_REPLICA}", env, own_env={"HEALER_HTTP__PORT": str(_second_port(settings, service))}
    )


def _sandbox_child(env: dict[str, str], folder: Path) -> Child:
    """`healer sandbox` on free ports, so that a restart after a crash comes back where the services look."""
    ports = {f"--{name}-port": str(free_port()) for name in ("kube", "prometheus", "loki", "github", "control")}
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
    """The services' environment, pointed at the sandbox: the remediator acts on it, the collector reads it
    (its GitHub too, every 5 s), and the notifier opens its GitHub issues there."""
    repositories = sandbox["github_repositories"].split()
    return {
        **env,
        "HEALER_CLUSTER__KUBECONFIG": sandbox["kubeconfig"],
        "HEALER_COLLECTOR__PROMETHEUS_URL": sandbox["prometheus"],
        "HEALER_COLLECTOR__LOKI_URL": sandbox["loki"],
        "HEALER_GITHUB__API_URL": sandbox["github"],
        "HEALER_GITHUB__REPOSITORIES": json.dumps(repositories),
        "HEALER_GITHUB__INTERVAL_S": env.get("HEALER_GITHUB__INTERVAL_S", "5"),
        "HEALER_NOTIFIER__GITHUB_API_URL": sandbox["github"],
        "HEALER_NOTIFIER__GITHUB_REPO": env.get("HEALER_NOTIFIER__GITHUB_REPO", sandbox["github_platform"]),
        "HEALER_NOTIFIER__GITHUB_TOKEN": env.get("HEALER_NOTIFIER__GITHUB_TOKEN", "sandbox"),
    }


async def _start_sandbox(
    supervisor: Supervisor, cluster: Child, folder: Path, stop: asyncio.Event, watchers: list[asyncio.Task[None]]
) -> dict[str, str] | None:
    """Start the sandbox and wait until it serves; None (stopping everything) if it never does."""
    (folder / ENDPOINTS_FILE).unlink(missing_ok=True)
    watchers.append(asyncio.create_task(supervisor.watch(cluster)))
    endpoints = await _sandbox_endpoints(folder, stop)
    if endpoints is None and not stop.is_set():
        line((f"the sandbox cluster did not start within {SANDBOX_READY_S:.0f}s; stopping", "red"), to=errors)
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
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
        loop.add_signal_handler(sig, stop.set)
    return stop


def preflight(nats_ports: list[int], redis_port: int) -> None:
    """Everything that would stop the servers from starting, checked before any starts."""
    nats_server_binary()
    redis_server_binary()
    ports = [("nats-server", port, "--nats-port") for port in nats_ports] + [
        ("redis-server", redis_port, "--redis-port")
    ]
    for name, port, flag in ports:
        if port_in_use(port):
            raise ConfigError(
                f"port {port} on {LOOPBACK} is taken, so {name} cannot start there; "
                f"stop what holds it (an earlier healer up?) or choose another with {flag}"
            )


def _keep(start: Callable[[], ServerProcess]) -> KeptServer:
    return KeptServer(start, start())


async def _serve(
    supervisor: Supervisor, settings: Settings, data_dir: Path, env: dict[str, str], demo: bool, stop: asyncio.Event
) -> bool:
    """Start the sandbox (if it is a child) and the services, then wait for the stop; False when the sandbox
    never served."""
    supervisor.record_pids()  # from now on, a healer up killed outright leaves nothing the next start misses
    watchers = [asyncio.create_task(supervisor.keep(kept)) for kept in supervisor.servers]
    cluster = next((c for c in supervisor.children if c.name == "sandbox"), None)
    demo_task: asyncio.Task[None] | None = None
    endpoints = None
    try:
        if cluster is not None:
            endpoints = await _start_sandbox(supervisor, cluster, data_dir / "sandbox", stop, watchers)
        if not stop.is_set():
            _start_services(supervisor, _pointed_at(env, endpoints) if endpoints else env, watchers, cluster)
            _where([kept.server for kept in supervisor.servers], settings, data_dir, endpoints)
            if demo and cluster is None:
                demo_task = asyncio.create_task(_play_demo(settings, stop))
        await stop.wait()
    finally:
        line(("stopping Healer…", "bold"))
        if demo_task:
            demo_task.cancel()
        await supervisor.stop()
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, *([demo_task] if demo_task else []), return_exceptions=True)
    return cluster is None or endpoints is not None


async def up(
    data_dir: Path, nats_port: int, redis_port: int, demo: bool, config: Path | None, sandbox: bool, *, ha: bool = False
) -> int:
    """Run everything until a signal; `data_dir` and `config` are absolute paths. A bad setting raises
    ConfigError before anything starts. With `ha`, three NATS nodes and two replicas of every service."""
    nats_ports = [nats_port + i for i in range(HA_NODES if ha else 1)]
    nats_url = ",".join(f"nats://{LOOPBACK}:{port}" for port in nats_ports)
    redis_url = f"redis://{LOOPBACK}:{redis_port}/0"
    replicas = {"stream_replicas": HA_NODES} if ha else {}
    settings = load_settings(config, nats={"url": nats_url, **replicas}, redis={"url": redis_url})
    pid_file = data_dir / "children.pids"
    if leftovers := stop_leftovers(pid_file):
        console.print(f"stopped {len(leftovers)} process(es) an earlier healer up left running: {leftovers}")
    preflight(nats_ports, redis_port)
    credentials = data_dir / CREDENTIALS_FILE
    if ensure_local_credentials(credentials):
        console.print(f"wrote local credentials to {credentials} (an admin for the CLI, a source for events)")
    env = _service_env(settings, nats_url, redis_url, data_dir)
    if ha:
        env["HEALER_NATS__STREAM_REPLICAS"] = str(HA_NODES)
    if config is not None:
        env["HEALER_CONFIG"] = str(config)
    if sandbox and settings.cluster.configured:
        console.print("a cluster is configured in the settings, so the sandbox cluster is not started")
    with_sandbox = sandbox and not settings.cluster.configured
    children = [
        *([_sandbox_child(env, data_dir / "sandbox")] if with_sandbox else []),
        *(Child(n, env) for n in SERVICES),
        *(_second_replica(settings, n, env) for n in (SERVICES if ha else ())),
    ]
    stop = _stop_on_signals()
    servers: list[KeptServer] = []
    try:
        if ha:
            cluster = NatsCluster.start(data_dir / "nats-cluster", HA_NODES, LOOPBACK, nats_ports)
            servers += [KeptServer(functools.partial(cluster.start_node, i), s) for i, s in enumerate(cluster.nodes())]
        else:
            servers.append(_keep(lambda: start_nats(data_dir / "nats", nats_port, LOOPBACK)))
        servers.append(_keep(lambda: start_redis(data_dir / "redis", redis_port, LOOPBACK)))
        served = await _serve(Supervisor(children, pid_file, servers), settings, data_dir, env, demo, stop)
    finally:
        for kept in reversed(servers):
            kept.server.stop()
        pid_file.unlink(missing_ok=True)
        line(("stopped.", "bold"))
    return 0 if served else 1


def command(
    data_dir: Annotated[Path, typer.Option(help="where NATS, Redis and memory keep their data")] = Path(".healer"),
    nats_port: Annotated[int, typer.Option(envvar="HEALER_UP_NATS_PORT", help="port for nats-server")] = 4222,
    redis_port: Annotated[int, typer.Option(envvar="HEALER_UP_REDIS_PORT", help="port for redis-server")] = 6379,
    play_demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="play the built-in demo incident (only without the sandbox)")
    ] = True,
    sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="start the sandbox cluster and point the services at it")
    ] = True,
    config: Path | None = ConfigOption,
    ha: Annotated[
        bool,
        typer.Option(
            "--ha",
            help="the production shape: three NATS nodes as one JetStream cluster (ports --nats-port and the next "
            "two; streams with three replicas) and two replicas of every service",
        ),
    ] = False,
) -> None:
    """Start everything on this machine: NATS, Redis, the sandbox cluster and the six services (`make run`)."""
    absolute_config = config.resolve() if config else None
    raise typer.Exit(run(up(data_dir.resolve(), nats_port, redis_port, play_demo, absolute_config, sandbox, ha=ha)))
