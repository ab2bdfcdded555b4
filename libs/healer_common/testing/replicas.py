"""Healer services as real OS processes, in replicas: `ServiceRunner` starts `python -m services.<name>` with a
test's settings (written by `write_settings`), keys each replica by service and index (`detector`,
`detector#1` ...), stops, pauses (SIGSTOP) and resumes them; `partitions_drained` says when a partitioned
service's replicas have handled everything handed to them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from healer_common.contract.streams import EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings
from healer_common.testing.waiting import eventually


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

    async def url(self, name: str) -> str:
        """The base URL of a running service's HTTP endpoint, as its heartbeat announces it."""
        redis = connect_redis(self.settings)
        try:
            beats = await read_heartbeats(redis, KeySpace(self.settings.redis.key_prefix))
        finally:
            await redis.aclose()
        pid = self.running[name].process.pid
        return next(b.detail["http"] for b in beats if b.service == name and b.pid == pid)

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
