"""The test harness: real servers, real service processes, and waiting on conditions instead of sleeping.

Loaded as a pytest plugin (`pytest_plugins = ["healer_common.testing"]` in tests/conftest.py). It gives:

    nats_server, redis_server   session-wide `nats-server -js` and `redis-server` on free loopback ports
    nats_cluster                three `nats-server`s as one JetStream cluster, per test (nodes can be killed)
    healer_settings             per test: its own subject root, stream names and Redis key prefix, so tests
                                share the servers without seeing each other's messages
    bus                         a connected BusClient for those settings, streams created
    kube                        the kmock Kubernetes emulator on a loopback port, with a kubeconfig
    prometheus                  Debian's `prometheus` on a loopback port scraping an exporter the test fills
    alertmanager                Debian's `prometheus-alertmanager` on a loopback port, alone (no cluster port)
    services                    starts Healer services as real OS processes (replicas keyed `name`, `name#1` ...)
                                and stops them after the test

and `eventually` (await a condition with a deadline) and `Recorder` (collect what is published on a subject).
Every async test is also checked for asyncio tasks it left running. The stand-ins behind `kube`, `http_peer`
and `prometheus` live in stand_ins.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kmock
import nats.aio.msg
import nats.js.errors
import prometheus_client
import pytest
import yaml
from pydantic import SecretStr

from healer_common.contract.streams import EVENTS, ConsumerSpec
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import (
    LOOPBACK,
    NatsCluster,
    ServerProcess,
    free_port,
    start_alertmanager,
    start_nats,
    start_prometheus,
    start_redis,
)
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings, load_settings
from healer_common.testing.stand_ins import HttpPeer, KubeEmulator, PrometheusHarness, answer, pod

__all__ = [  # what tests import from here, the stand-ins of stand_ins.py included
    "HttpPeer",
    "KubeEmulator",
    "PrometheusHarness",
    "Recorder",
    "ServiceProcess",
    "ServiceRunner",
    "answer",
    "consumer_drained",
    "event_kind",
    "eventually",
    "isolated_settings",
    "partitions_drained",
    "pod",
    "recording",
    "write_settings",
]
DEFAULT_WAIT_S = 15.0


# waiting -----------------------------------------------------------------------------------------------------
async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = DEFAULT_WAIT_S,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Call `probe` (plain or async) until it returns something truthy and return that; fail the test at the
    deadline, naming `what` was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        last = result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)


class Recorder:
    """Everything published on some subjects from now on, kept in arrival order, with waits on it."""

    def __init__(self) -> None:
        self.messages: list[RawMessage] = []
        self._changed = asyncio.Event()

    def _add(self, msg: nats.aio.msg.Msg) -> None:
        self.messages.append(RawMessage(msg.subject, msg.data, dict(msg.headers or {}), None, None))
        self._changed.set()

    def bodies(self, subject_prefix: str = "") -> list[dict[str, Any]]:
        return [json.loads(m.data) for m in self.messages if m.subject.startswith(subject_prefix)]

    async def wait_for(
        self, predicate: Callable[[RawMessage], bool], *, timeout: float = DEFAULT_WAIT_S, what: str = "message"
    ) -> RawMessage:
        """The first message (already received or still to come) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.messages:
                if predicate(msg):
                    return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = ", ".join(m.subject for m in self.messages[-10:]) or "nothing"
                pytest.fail(f"no {what} within {timeout}s; last subjects seen: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=remaining)

    async def wait_count(self, predicate: Callable[[RawMessage], bool], count: int, *, timeout: float = 30.0) -> None:
        await eventually(
            lambda: sum(1 for m in self.messages if predicate(m)) >= count,
            timeout=timeout,
            what=f"{count} matching messages",
        )


@contextlib.asynccontextmanager
async def recording(bus: BusClient, *subjects: str) -> AsyncIterator[Recorder]:
    """A Recorder subscribed (core NATS) to `subjects` for the duration of the block."""
    recorder = Recorder()

    async def on_message(msg: nats.aio.msg.Msg) -> None:
        recorder._add(msg)

    subs = [await bus.nc.subscribe(subject, cb=on_message) for subject in subjects]
    await bus.nc.flush()
    try:
        yield recorder
    finally:
        for sub in subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()


async def consumer_drained(bus: BusClient, spec: ConsumerSpec) -> bool:
    """True once a durable consumer has been handed and has acked everything in its stream."""
    try:
        info = await bus.js.consumer_info(spec.stream.name(bus.space), spec.durable)
    except nats.js.errors.NotFoundError:
        return False
    return bool(info.num_pending == 0 and info.num_ack_pending == 0 and (info.delivered.stream_seq or 0) > 0)


def event_kind(subject: str) -> str:
    """`condition` for `<root>.events.kubernetes.condition` and its partitions (`....condition.3`); else ""."""
    tokens = subject.split(".")
    at = tokens.index("events") if "events" in tokens else len(tokens)
    return tokens[at + 2] if len(tokens) > at + 2 else ""


async def partitions_drained(bus: BusClient, service: str = "detector") -> bool:
    """True once every part of a partitioned service's input (runtime/partitioned.py: the detector's partitions
    and its intake) is served, and everything each part's cursor handed out has been handled, as the serving
    replicas' heartbeats say (so never early: a heartbeat is at most an interval behind)."""
    parts = [*(str(n) for n in range(bus.settings.scale.partitions)), "intake"]
    redis = connect_redis(bus.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(bus.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    handled: dict[str, int] = {}  # cursor -> messages handled from it, as "at <seq> ... handled <n> cursor <c>"
    for beat in (b for b in beats if b.service == service):
        for key, value in beat.detail.items():
            words = value.split()
            if key.startswith("partition ") and len(words) == 8:
                handled[words[7]] = int(words[5])
    latest: dict[str, tuple[int, Any]] = {}
    for info in await bus.js.consumers_info(EVENTS.name(bus.space)):
        owner, _, rest = (info.name or "").partition("-")
        part, _, token = rest.rpartition("-")
        if owner == service and token.isdigit() and int(token) >= latest.get(part, (-1, None))[0]:
            latest[part] = (int(token), info)
    for part in parts:
        if part not in latest:
            return False
        info = latest[part][1]
        if info.num_pending or handled.get(info.name or "", -1) < (info.delivered.consumer_seq or 0):
            return False
    return True


async def run_healer(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """Run the `healer` command as a user would, with the settings file `config`: (exit code, stdout, stderr)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    child_env.update({"HEALER_CONFIG": str(config), "COLUMNS": "200", **(env or {})})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "healer_cli",
        *args,
        env=child_env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=timeout)
    return int(process.returncode or 0), out.decode(errors="replace"), err.decode(errors="replace")


# settings for one test ----------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Settings as plain YAML-able data, secrets revealed (they are the test's own)."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_settings(settings: Settings, path: Path) -> Path:
    """Write settings to a YAML file that a service process loads with HEALER_CONFIG."""
    data = _plain(settings.model_dump(exclude={"config"}, exclude_none=True))
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def isolated_settings(nats_url: str, redis_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings with a fresh subject root and Redis prefix, so a test sees only its own traffic and state."""
    root = f"t{uuid.uuid4().hex[:10]}"
    base: dict[str, Any] = {
        "nats": {"url": nats_url},
        "redis": {"url": redis_url, "key_prefix": root},
        "bus": {"subject_root": root, "heartbeat_interval_s": 1.0},
        "scale": {"partitions": 4, "lease_ttl_s": 3.0},
        "http": {"base_port": 0},
        "log": {"format": "json"},
        "memory": {"store_path": data_dir / "memory.sqlite3"},
    }
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(base.get(section), dict):
            base[section] = {**base[section], **values}
        else:
            base[section] = values
    return load_settings(**base)


# service processes --------------------------------------------------------------------------------------------
@dataclass
class ServiceProcess:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    service: str = ""  # the service it runs (`name` is the replica's key: `detector`, `detector#1` ...)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def replica_key(service: str, index: int) -> str:
    """How ServiceRunner names a service's replicas: the first by the service's name, the others `name#i`."""
    return service if index == 0 else f"{service}#{index}"


@dataclass
class ServiceRunner:
    """Starts `python -m services.<name>` with the test's settings and stops them all at the end.

    Processes are keyed by replica: `start("detector", replicas=2)` starts `detector` and `detector#1`.
    """

    settings: Settings
    workdir: Path
    running: dict[str, ServiceProcess] = field(default_factory=dict)
    _generation: int = 0

    @property
    def config_path(self) -> Path:
        return self.workdir / "healer.yaml"

    def configure(self, section: str, **values: Any) -> Settings:
        """Change one settings section for the services started after this call, validated as a load would
        (so an old name such as the notifier's `webhook_url` lands where it belongs, and a typo fails here)."""
        current = getattr(self.settings, section)
        updated = type(current).model_validate({**current.model_dump(), **values})
        self.settings = self.settings.model_copy(update={section: updated})
        return self.settings

    def start(self, *names: str, env: dict[str, str] | None = None, replicas: int = 1) -> list[str]:
        """Start `replicas` processes of each service (a name may also be a replica's key, `detector#1`, to
        start that one again); returns the keys started."""
        write_settings(self.settings, self.config_path)
        started = []
        for name in names:
            service, _, index = name.partition("#")
            keys = [name] if index else [replica_key(service, i) for i in range(replicas)]
            for key in keys:
                self._spawn(key, service, env)
                started.append(key)
        return started

    def _spawn(self, key: str, service: str, env: dict[str, str] | None) -> None:
        self._generation += 1
        log_path = self.workdir / f"{key.replace('#', '.')}.{self._generation}.log"
        child_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")},
            "HEALER_CONFIG": str(self.config_path),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{service.replace('-', '_')}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=child_env,
                cwd=self.workdir,
            )
        self.running[key] = ServiceProcess(key, process, log_path, service)

    async def wait_running(self, *names: str, timeout: float = 30.0) -> None:
        """Until each named process (a service's first replica, or `name#i`; all when none named) has written a
        `running` heartbeat (its consumers are attached)."""
        wanted = set(names or self.running)
        redis = connect_redis(self.settings)
        keys = KeySpace(self.settings.redis.key_prefix)

        async def all_running() -> bool:
            for name in wanted:
                proc = self.running.get(name)
                if proc is not None and not proc.alive():
                    pytest.fail(f"{name} exited with {proc.process.returncode}:\n{proc.log()[-3000:]}")
            beats = await read_heartbeats(redis, keys)
            up = {b.pid for b in beats if b.state == "running"}
            return all(name in self.running and self.running[name].process.pid in up for name in wanted)

        try:
            await eventually(all_running, timeout=timeout, interval=0.1, what=f"services {sorted(wanted)} running")
        finally:
            await redis.aclose()

    def stop(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        proc = self.running.pop(name)
        if proc.alive():
            proc.process.send_signal(sig)
            try:
                proc.process.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(timeout)
        return int(proc.process.returncode)

    def pause(self, name: str) -> None:
        """SIGSTOP: the process stalls as a stuck or swapped-out one would (resume with `resume`)."""
        self.running[name].process.send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.running[name].process.send_signal(signal.SIGCONT)

    def stop_all(self) -> dict[str, int]:
        for proc in self.running.values():  # a paused replica could not answer the SIGTERM
            if proc.alive():
                proc.process.send_signal(signal.SIGCONT)
        return {name: self.stop(name) for name in list(self.running)}

    def logs(self) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.log()[-4000:]}" for p in self.running.values())


# pytest wiring ------------------------------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    # A developer's own HEALER_* variables must not leak into tests; each test states its settings.
    for name in [n for n in os.environ if n.startswith("HEALER_")]:
        del os.environ[name]
    config.addinivalue_line("markers", "integration: starts real servers and service processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.fixturenames.insert(0, "no_leaked_tasks")  # type: ignore[attr-defined] # first up, last down


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if call.when == "call":
        item.stash[_FAILED] = report.failed  # type: ignore[attr-defined]
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running: a leaked task is a leaked consumer or connection."""
    before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()

    def leftovers() -> list[asyncio.Task[Any]]:
        return [t for t in asyncio.all_tasks() if t not in before and t is not current and not t.done()]

    deadline = time.monotonic() + 2.0
    while leftovers() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    if left := leftovers():
        pytest.fail(f"test left {len(left)} asyncio task(s) running: {[t.get_coro() for t in left][:5]}")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three `nats-server`s as one JetStream cluster, for this test alone (it may kill and restart nodes)."""
    cluster = NatsCluster.start(tmp_path / "nats-cluster")
    yield cluster
    cluster.stop()


@pytest.fixture
def healer_settings(nats_server: ServerProcess, redis_server: ServerProcess, tmp_path: Path) -> Settings:
    return isolated_settings(nats_server.url, f"{redis_server.url}/0", tmp_path)


@pytest.fixture
async def bus(healer_settings: Settings) -> AsyncIterator[BusClient]:
    async with BusClient(healer_settings, name="healer-test") as client:
        await client.ensure_streams()
        yield client


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[KubeEmulator]:
    emulator = KubeEmulator().start()
    emulator.write_kubeconfig(tmp_path / "kubeconfig")
    yield emulator
    emulator.stop()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusHarness]:
    registry = prometheus_client.CollectorRegistry()
    port = free_port()
    exporter, thread = prometheus_client.start_http_server(port, addr=LOOPBACK, registry=registry)
    try:
        server = start_prometheus(tmp_path / "prometheus", [f"{LOOPBACK}:{port}"])
    except Exception:
        exporter.shutdown()
        raise
    harness = PrometheusHarness(server, registry, f"http://{LOOPBACK}:{port}")
    yield harness
    harness.server.stop()  # the test may have replaced it (a Prometheus restarted on its port)
    exporter.shutdown()
    exporter.server_close()
    thread.join(5)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[ServerProcess]:
    """Debian's real Alertmanager on a loopback port, for what Healer posts to a team's Alertmanager."""
    server = start_alertmanager(tmp_path / "alertmanager")
    yield server
    server.stop()


@pytest.fixture
async def http_peer() -> AsyncIterator[HttpPeer]:
    async with kmock.RawHandler() as handler, kmock.Server(handler) as server:
        yield HttpPeer(handler, str(server.url).rstrip("/"))


@pytest.fixture
def services(healer_settings: Settings, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ServiceRunner]:
    runner = ServiceRunner(healer_settings, tmp_path)
    yield runner
    logs = runner.logs()
    codes = runner.stop_all()
    if request.node.stash.get(_FAILED, False):
        sys.stderr.write(f"\nservice logs of {request.node.name}:\n{logs}\n")
    crashed = {name: code for name, code in codes.items() if code not in (0, -signal.SIGTERM)}
    if crashed:
        pytest.fail(f"services did not stop cleanly on SIGTERM: {crashed}\n{logs}")
