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
and `prometheus` live in stand_ins.py, the service processes and their replicas in replicas.py, `eventually`
in waiting.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import secrets
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import kmock
import nats.aio.msg
import nats.js.errors
import prometheus_client
import pytest
from redis.asyncio import Redis

from healer_common.contract.streams import ConsumerSpec
from healer_common.runtime.busclient import BusClient, RawMessage
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
from healer_common.runtime.state import connect_redis
from healer_common.settings import Settings, load_settings
from healer_common.settings.bus import STREAM_KEYS
from healer_common.testing.replicas import ServiceProcess, ServiceRunner, partitions_drained, write_settings
from healer_common.testing.stand_ins import HttpPeer, KubeEmulator, PrometheusHarness, answer, pod
from healer_common.testing.waiting import DEFAULT_WAIT_S, eventually

__all__ = [  # what tests import from here, the stand-ins of stand_ins.py included
    "HttpPeer",
    "KubeEmulator",
    "PrometheusHarness",
    "Recorder",
    "ServiceProcess",
    "ServiceRunner",
    "answer",
    "bearer",
    "consumer_drained",
    "event_kind",
    "eventually",
    "isolated_settings",
    "partitions_drained",
    "pod",
    "recording",
    "signing_secret",
    "token_of",
    "write_settings",
]


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
TEST_CREDENTIALS = {  # name -> roles; each gets a fresh token (and the source a signing secret) per test
    "test-admin": ["admin"],
    "test-oncall": ["oncall"],
    "test-source": ["source"],
    "test-product": ["product-owner"],
}


def fresh_credentials() -> list[dict[str, Any]]:
    """Credentials for one test's services and CLI, inline in its settings (no file)."""
    return [
        {
            "name": name,
            "token": secrets.token_urlsafe(24),
            "roles": roles,
            **({"signing_secret": secrets.token_urlsafe(24)} if "source" in roles else {}),
        }
        for name, roles in TEST_CREDENTIALS.items()
    ]


def token_of(settings: Settings, name: str = "test-admin") -> str:
    """The token of one of the test's credentials."""
    credential = next(c for c in settings.auth.credentials if c.name == name)
    assert credential.token is not None
    return credential.token.get_secret_value()


def bearer(settings: Settings, name: str = "test-admin") -> dict[str, str]:
    """The Authorization header of one of the test's credentials (test-admin, test-oncall, test-source ...)."""
    return {"Authorization": f"Bearer {token_of(settings, name)}"}


def signing_secret(settings: Settings, name: str = "test-source") -> str:
    credential = next(c for c in settings.auth.credentials if c.name == name)
    assert credential.signing_secret is not None
    return credential.signing_secret.get_secret_value()


def isolated_settings(nats_url: str, redis_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings with a fresh subject root and Redis prefix, so a test sees only its own traffic and state, and
    its own credentials (`bearer`, `token_of`, `signing_secret` read them)."""
    root = f"t{uuid.uuid4().hex[:10]}"
    base: dict[str, Any] = {
        "auth": {"credentials_file": data_dir / "no-credentials-file.yaml", "credentials": fresh_credentials()},
        "nats": {"url": nats_url},
        "redis": {"url": redis_url, "key_prefix": root},
        # no size limits: JetStream sets a stream's limit aside on disk, and the session's server holds every
        # test's streams (5 GiB each with the defaults); test_stream_limits sets one
        "bus": {"subject_root": root, "heartbeat_interval_s": 1.0, "max_mib": dict.fromkeys(STREAM_KEYS, 0.0)},
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
async def redis(healer_settings: Settings) -> AsyncIterator[Redis]:
    """A client of this test's redis-server, as the services connect to it."""
    client = connect_redis(healer_settings)
    yield client
    await client.aclose()


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
