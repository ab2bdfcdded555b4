"""The two sides of the storm benchmark (bench/storm.py): Debian's `prometheus-alertmanager` and Healer, each
started fresh on free loopback ports, fed the same storm, delivering to the same local webhook receiver.

- `AlertmanagerSide`: one `prometheus-alertmanager` process (installed with apt if missing), its route
  grouping by alertname, namespace and node, fed through its own API (`POST /api/v2/alerts`).
- `HealerSide`: nats-server, redis-server and the six pipeline services as processes (what `healer up
  --no-sandbox` runs, less the read API), the correlator grouping by the same labels with the same timing;
  fed either over HTTP as Alertmanager webhooks (`POST /alertmanager` on the collector, with an ingest
  credential) or as CloudEvents (`healer.condition.v1`) on NATS.

Each side turns what the receiver got into `Delivery`s (which alerts a notification told of) and names the
processes whose CPU and memory count.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from nats.aio.msg import Msg
from storm_tally import ALERTNAMES, Delivery, StormAlert, alertmanager_body, webhook_body

from healer_common.contract.streams import INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import LOOPBACK, ServerProcess, free_port, start_nats, start_redis
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES, Settings
from healer_common.testing import ServiceRunner, bearer, isolated_settings

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
PIPELINE = tuple(s for s in SERVICES if s != "api")
"""Healer's services in a storm's path: what `healer up --no-sandbox` runs, without the read API (which nothing
here asks; its live feed would only add the cost of a dashboard nobody watches)."""
CATALOGUE_IDS = dict(zip(ALERTNAMES, ("A7", "H2", "H5", "H8", "H4"), strict=True))
"""The CloudEvents variant: each storm alert name is a condition reason raising one catalogue id at once."""


def ensure_alertmanager() -> str:
    """Debian's Alertmanager, installed with apt the first time (as .ci/run installs prometheus)."""
    if Path(ALERTMANAGER).exists():
        return ALERTMANAGER
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "prometheus-alertmanager"]
    subprocess.run([*sudo, *install], check=True, env=env)
    return ALERTMANAGER


def peak_rss_mib(process: psutil.Process) -> float:
    """VmHWM: the most resident memory the process ever held."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(process: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        times = process.cpu_times()
        return float(times.user + times.system)
    return float("nan")


class AlertmanagerSide:
    name = "alertmanager"

    def __init__(self, receiver_url: str, group_wait_s: float, group_interval_s: float) -> None:
        self._receiver_url = receiver_url
        self._timing = (group_wait_s, group_interval_s)
        self._dir = Path(tempfile.mkdtemp(prefix="healer-bench-am-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def _config(self) -> str:
        wait, interval = self._timing
        route = {
            "receiver": "storm",
            "group_by": ["alertname", "namespace", "node"],
            "group_wait": f"{round(wait * 1000)}ms",
            "group_interval": f"{round(interval * 1000)}ms",
            "repeat_interval": "4h",
        }
        receiver = {"name": "storm", "webhook_configs": [{"url": self._receiver_url, "send_resolved": False}]}
        return json.dumps({"route": route, "receivers": [receiver]})

    def _spawn(self) -> subprocess.Popen[bytes]:
        port = free_port()
        config = self._dir / "alertmanager.yml"
        config.write_text(self._config())
        args = [
            ensure_alertmanager(),
            f"--config.file={config}",
            f"--storage.path={self._dir / 'data'}",
            f"--web.listen-address={LOOPBACK}:{port}",
            "--cluster.listen-address=",  # no gossip: one instance, nothing else listening
            "--log.level=warn",
        ]
        self.url = f"http://{LOOPBACK}:{port}"
        with (self._dir / "alertmanager.log").open("wb") as log:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> None:
        self._process = self._spawn()
        await _until_ready(f"{self.url}/-/ready", self._process, self._dir / "alertmanager.log")

    async def feed(self, session: aiohttp.ClientSession, batch: list[StormAlert], starts_at: dt.datetime) -> None:
        body = alertmanager_body(batch, starts_at)
        async with session.post(f"{self.url}/api/v2/alerts", json=body) as response:
            response.raise_for_status()

    def delivery(self, body: dict[str, Any], at: float) -> Delivery | None:
        return Delivery(at, tuple(a["labels"].get("pod", "") for a in body.get("alerts", [])))

    async def finish(self) -> list[Delivery]:
        return []

    def processes(self) -> dict[str, psutil.Process]:
        assert self._process is not None
        return {"alertmanager": psutil.Process(self._process.pid)}

    async def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(15)
        shutil.rmtree(self._dir, ignore_errors=True)


async def _until_ready(url: str, process: subprocess.Popen[bytes], log: Path, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url} exited with {process.returncode}:\n{_tail(log)}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} not ready within {within_s}s")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:] if log.exists() else ""


def condition_event(alert: StormAlert) -> bytes:
    """The storm alert as a CloudEvent: a condition whose reason raises its catalogue id at once."""
    return json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "storm",
            "type": "healer.condition.v1",
            "data": {
                "resource": {"kind": "Pod", "namespace": alert.namespace, "name": alert.pod},
                "reason": alert.alertname,
                "message": f"{alert.alertname} on {alert.pod}",
                "labels": {"node": alert.node},
            },
        }
    ).encode()


class HealerSide:
    def __init__(
        self,
        receiver_url: str,
        group_wait_s: float,
        group_interval_s: float,
        *,
        via: str,
        logs: Path | None = None,
        services: tuple[str, ...] = PIPELINE,
    ) -> None:
        self.name = f"healer_{via}"
        self._logs = logs
        self._services = services
        self._via = via
        self._receiver_url = receiver_url
        self._timing = (group_wait_s, group_interval_s)
        self._dir = Path(tempfile.mkdtemp(prefix="healer-bench-storm-"))
        self._servers: list[ServerProcess] = []
        self._runner: ServiceRunner | None = None
        self._bus: BusClient | None = None
        self._untold: list[tuple[str, int, float]] = []  # (incident, revision, at) of notifications without alerts
        self.seen: dict[str, list[tuple[float, bytes]]] = {}  # with --stages: each alert and revision on the bus, when
        self._since = dt.datetime.now(dt.UTC)
        self.url = ""
        self._settings_used: Settings | None = None

    def _settings(self, nats: ServerProcess, redis: ServerProcess) -> Settings:
        wait, interval = self._timing
        return isolated_settings(
            nats.url,
            f"{redis.url}/0",
            self._dir,
            log={"level": "INFO" if self._logs else "WARNING", "format": "json"},
            correlator={
                "group_by": ["alertname", "namespace", "node"],
                "topology": [],
                "group_wait_s": wait,
                "group_interval_s": interval,
            },
            notifier={"channels": {"console": {"enabled": False}, "webhook": {"url": self._receiver_url}}},
            detector={"condition_alerts": CATALOGUE_IDS},
        )

    async def start(self) -> None:
        nats, redis = start_nats(self._dir / "nats"), start_redis(self._dir / "redis")
        self._servers = [nats, redis]
        settings = self._settings_used = self._settings(nats, redis)
        self._runner = ServiceRunner(settings, self._dir)
        self._runner.start(*self._services)
        await self._runner.wait_running(timeout=180)
        self._bus = BusClient(settings, name="healer-bench-storm")
        await self._bus.__aenter__()
        self.url = await _collector_url(settings)
        self._since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)

    async def watch_stages(self) -> None:
        """Note when every alert and incident revision goes by on the bus (core subscriptions: a little load)."""
        assert self._bus is not None
        for stage, subject in (("alerts", self._bus.space.all_alerts), ("revisions", self._bus.space.all_incidents)):
            await self._bus.nc.subscribe(subject, cb=_noting(self.seen.setdefault(stage, [])))

    @property
    def stages(self) -> dict[str, list[float]]:
        return {stage: [at for at, _ in seen] for stage, seen in self.seen.items()}

    def on_bus(self, since: float) -> tuple[dict[str, float], dict[str, list[tuple[int, float, str]]]]:
        """With --stages, for `--dump`: when each alert (by pod) first went by on the bus, and each incident's
        revisions (number, when on the bus, the time it carries), in seconds since `since`."""
        alerts: dict[str, float] = {}
        for at, data in self.seen.get("alerts", []):
            alerts.setdefault(_pod(json.loads(data)), at - since)
        revisions: dict[str, list[tuple[int, float, str]]] = {}
        for at, data in self.seen.get("revisions", []):
            body = json.loads(data)
            revisions.setdefault(body["incident_id"], []).append((body["revision"], at - since, body["time"]))
        return alerts, revisions

    async def feed(self, session: aiohttp.ClientSession, batch: list[StormAlert], starts_at: dt.datetime) -> None:
        if self._via == "http":
            assert self._settings_used is not None
            body, headers = webhook_body(batch, starts_at), bearer(self._settings_used, "test-source")
            async with session.post(f"{self.url}/alertmanager", json=body, headers=headers) as response:
                response.raise_for_status()
            return
        assert self._bus is not None
        subject = self._bus.space.custom_events("storm")
        await asyncio.gather(*(self._bus.js.publish(subject, condition_event(a)) for a in batch))

    def delivery(self, body: dict[str, Any], at: float) -> Delivery | None:
        """An incident notification tells the alerts it carries; anything else (remediation steps) is other."""
        if not str(body.get("kind", "")).startswith("incident_"):
            return None
        if "alerts" in body:
            return Delivery(at, tuple(_pod(a) for a in body["alerts"]))
        self._untold.append((body["incident_id"], int(body["fields"]["revision"]), at))
        return Delivery(at, ())

    async def finish(self) -> list[Delivery]:
        """Notifications that named only a revision (Healer before it carried alerts): that revision's alerts."""
        if not self._untold or self._bus is None:
            return []
        pods: dict[tuple[str, int], tuple[str, ...]] = {}
        async for msg in self._bus.history(INCIDENTS, self._since, filter_subject=self._bus.space.all_incidents):
            body = json.loads(msg.data)
            pods[body["incident_id"], body["revision"]] = tuple(_pod(a) for a in body["alerts"])
        return [Delivery(at, pods.get((i, r), ())) for i, r, at in self._untold]

    def processes(self) -> dict[str, psutil.Process]:
        assert self._runner is not None
        found = {name: psutil.Process(p.process.pid) for name, p in self._runner.running.items()}
        found |= {s.name: psutil.Process(s.process.pid) for s in self._servers}
        return found

    async def stop(self) -> None:
        if self._bus is not None:
            await self._bus.__aexit__(None, None, None)
        if self._runner is not None:
            self._runner.stop_all()
        for server in reversed(self._servers):
            server.stop()
        if self._logs is not None:
            kept = self._logs / f"{self.name}-{time.time():.0f}"
            kept.mkdir(parents=True, exist_ok=True)
            for log in self._dir.glob("*.log"):
                shutil.copy(log, kept / log.name)
        shutil.rmtree(self._dir, ignore_errors=True)


def _noting(seen: list[tuple[float, bytes]]) -> Callable[[Msg], Awaitable[None]]:
    async def note(msg: Msg) -> None:
        seen.append((time.monotonic(), msg.data))  # parsed after the run, not while the storm needs the CPU

    return note


def _pod(alert: dict[str, Any]) -> str:
    labels = alert.get("labels") or {}
    resource = alert.get("resource") or {}
    return str(labels.get("pod") or resource.get("name") or "")


async def _collector_url(settings: Settings) -> str:
    redis = connect_redis(settings)
    try:
        for beat in await read_heartbeats(redis, KeySpace(settings.redis.key_prefix)):
            if beat.service == "collector":
                return beat.detail["http"]
    finally:
        await redis.aclose()
    raise RuntimeError("the collector wrote no heartbeat with its HTTP address")
