"""What `healer up` starts, under supervision: the children (the sandbox and the six services) started with
their output relayed under a coloured name, restarted with backoff when they crash, stopped with SIGTERM in
order; and nats-server and redis-server, started again on their port and data folder when they die.

Each child runs in its own process group, so a Ctrl-C at the terminal reaches `healer up` alone, which then
stops the children once and in order (a child that also got the terminal's SIGINT would be signalled twice and
could lose its in-flight work). The pids are written to `<data dir>/children.pids`, so a `healer up` killed
outright (SIGKILL) does not leave its children running for ever: the next start in that folder stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from rich.text import Text

from healer_cli.runtime import console, errors, line
from healer_common.errors import ConfigError
from healer_common.runtime.servers import ServerProcess

COLOURS = {
    "collector": "cyan",
    "detector": "magenta",
    "correlator": "blue",
    "remediator": "yellow",
    "notifier": "green",
    "memory-bridge": "bright_black",
    "sandbox": "red",
}
MAX_BACKOFF_S = 30.0
STABLE_AFTER_S = 60.0


@dataclass
class Child:
    """One service process under supervision."""

    name: str
    env: dict[str, str]
    command: tuple[str, ...] = ()  # arguments after the interpreter; default `-m services.<name>`
    own_env: dict[str, str] = field(default_factory=dict)  # this child's alone (a second replica's HTTP port)
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    started_at: float = 0.0
    relays: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def module(self) -> str:
        return f"services.{self.name.partition('#')[0].replace('-', '_')}"


@dataclass
class KeptServer:
    """nats-server or redis-server under supervision; `start` brings it up again on its port and data folder."""

    start: Callable[[], ServerProcess]
    server: ServerProcess
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)


def _backoff(restarts: int, started_at: float) -> tuple[float, int]:
    """(seconds to wait, restarts so far) after a crash: doubling while it keeps crashing, from 1 s again once it
    ran stably."""
    if time.monotonic() - started_at > STABLE_AFTER_S:
        restarts = 0
    return min(MAX_BACKOFF_S, 2.0**restarts), restarts + 1


async def _relay(name: str, stream: asyncio.StreamReader | None) -> None:
    if stream is None:
        return
    colour = COLOURS.get(name.partition("#")[0], "white")
    while text := await stream.readline():
        console.print(Text.assemble((f"{name:>13}", colour), " │ ", text.decode(errors="replace").rstrip()))


class Supervisor:
    def __init__(self, children: list[Child], pid_file: Path, servers: list[KeptServer] | None = None) -> None:
        self.children = children
        self.stopping = asyncio.Event()
        self.pid_file = pid_file
        self.servers = servers or []  # nats-server and redis-server, stopped by healer up after the children

    async def start(self, child: Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *(child.command or ("-m", child.module)),
            env={**child.env, **child.own_env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
            process_group=0,
        )
        child.started_at = time.monotonic()
        self.record_pids()
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
            delay, child.restarts = _backoff(child.restarts, child.started_at)
            said = f"{child.name} exited with code {code}; restarting in {delay:.0f}s (restart #{child.restarts})"
            line((said, "red"), to=errors)
            await self._pause(delay)

    async def keep(self, kept: KeptServer, poll_s: float = 0.2) -> None:
        """Keep a server running: start it again when it dies (the services reconnect to it), backing off while
        it keeps dying or cannot start (its port taken, its binary gone)."""
        while not self.stopping.is_set():
            if kept.server.alive():
                await self._pause(poll_s)
                continue
            delay, kept.restarts = _backoff(kept.restarts, kept.started_at)
            said = f"{kept.server.name} exited with code {kept.server.process.returncode}; restarting in {delay:.0f}s"
            line((f"{said} (restart #{kept.restarts})", "red"), to=errors)
            await self._pause(delay)
            if self.stopping.is_set():
                return
            try:
                kept.server = await asyncio.to_thread(kept.start)
            except (ConfigError, RuntimeError, OSError) as exc:
                line((f"{kept.server.name} did not start again: {exc}", "red"), to=errors)
            kept.started_at = time.monotonic()
            self.record_pids()

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake as soon as everything is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

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
        self.pid_file.unlink(missing_ok=True)

    def record_pids(self) -> None:
        pids = [c.process.pid for c in self.children if c.process and c.process.returncode is None]
        servers = [kept.server.process.pid for kept in self.servers if kept.server.alive()]
        self.pid_file.write_text("".join(f"{pid}\n" for pid in (*servers, *pids)))


def _ours(process: psutil.Process, data_dir: Path) -> bool:
    """Only a process `healer up` starts: a service, the sandbox or a server of this data dir (a recycled pid
    must never stop someone else's process). redis-server rewrites its title but works in its data dir."""
    cmdline = process.cmdline()
    module = cmdline[2] if len(cmdline) > 2 and cmdline[1] == "-m" else ""
    mentions = any(str(data_dir) in arg for arg in cmdline) or process.cwd().startswith(str(data_dir))
    return module.startswith("services.") or module == "healer_cli" or mentions


def stop_leftovers(pid_file: Path) -> list[int]:
    """Stop what an earlier `healer up` in this folder left running (it was killed outright); their pids."""
    if not pid_file.is_file():
        return []
    stopped = []
    for text in pid_file.read_text().split():
        with contextlib.suppress(psutil.Error, ValueError):
            child = psutil.Process(int(text))
            if _ours(child, pid_file.parent):
                child.terminate()
                stopped.append(child.pid)
    psutil.wait_procs([psutil.Process(p) for p in stopped if psutil.pid_exists(p)], timeout=10)
    pid_file.unlink(missing_ok=True)
    return stopped
