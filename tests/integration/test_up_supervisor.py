"""`healer up` as a supervisor: the settings are checked before anything starts (a YAML syntax error is one line,
`--debug` shows the traceback), nats-server and redis-server are started again when they die while the services
carry on, and SIGTERM or SIGHUP stops everything it started."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from healer_common.runtime.servers import free_port, port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants

pytestmark = pytest.mark.integration


def up_with(config: Path, *options: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`healer up` with a settings file, as a newcomer runs it: (result, seconds it took, its NATS port)."""
    nats_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    ports = ["--nats-port", str(nats_port), "--redis-port", str(free_port())]
    args = ["up", "--no-sandbox", "--data-dir", str(config.parent / "data"), *ports]
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "healer_cli", *options, *args, "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=60,
    )
    return result, time.monotonic() - started, nats_port


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("nats:\n  url: [unclosed\n", "not valid YAML: expected ',' or ']', but got '<stream end>' (line 3, column 1)"),
        (
            "nats:\n  connect_timeout_s: -1\n",
            "invalid settings: nats.connect_timeout_s: Input should be greater than 0",
        ),
        ("- just\n- a list\n", "the file must hold a mapping of sections"),
    ],
    ids=["yaml-syntax", "bad-value", "not-a-mapping"],
)
def test_a_bad_configuration_is_one_line_and_nothing_starts(tmp_path: Path, text: str, said: str) -> None:
    config = tmp_path / "healer.yaml"
    config.write_text(text)

    result, took, nats_port = up_with(config)

    assert result.returncode == 2
    assert took < 10
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"bad configuration: {said}")
    assert f"(in {config})" in result.stderr
    assert not port_in_use(nats_port)
    assert not (tmp_path / "data" / "nats").exists(), "nats-server was started"


def test_debug_shows_the_traceback_of_a_bad_configuration(tmp_path: Path) -> None:
    config = tmp_path / "healer.yaml"
    config.write_text("nats:\n  url: [unclosed\n")

    result, _, _ = up_with(config, "--debug")

    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ConfigError: not valid YAML" in result.stderr


def server_of(up: Up, name: str) -> psutil.Process:
    found = [p for p in psutil.Process(up.process.pid).children(recursive=True) if name in " ".join(p.cmdline())]
    assert len(found) == 1, [p.cmdline() for p in found]
    return found[0]


async def kill_and_see_it_back(up: Up, name: str, port: int) -> None:
    first = server_of(up, name)
    first.kill()
    await eventually(lambda: f"{name} exited with code -9; restarting" in up.output(), what=f"{name}'s death noticed")
    await eventually(lambda: port_in_use(port), timeout=30, what=f"{name} listening again")
    assert server_of(up, name).pid != first.pid
    await eventually(lambda: up.healer("status").returncode == 0, timeout=60, interval=1, what="healthy again")


async def test_servers_that_die_are_started_again_and_sigterm_stops_everything(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--no-sandbox", "--no-demo")
    try:
        await eventually(lambda: up.healer("status").returncode == 0, timeout=90, interval=1, what="healthy")
        await kill_and_see_it_back(up, "nats-server", up.nats_port)
        await kill_and_see_it_back(up, "redis-server", up.redis_port)

        everything = psutil.Process(up.process.pid).children(recursive=True)
        assert len(everything) >= 8, "two servers and six services"
        up.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(up.process.wait, 30) == 0, up.output()[-3000:]
        _gone, alive = psutil.wait_procs(everything, timeout=10)
        assert not alive, [p.cmdline()[:3] for p in alive]
        assert not port_in_use(up.nats_port)
        assert not port_in_use(up.redis_port)
    finally:
        stop_with_descendants(up.process)


async def test_a_closed_terminal_sighup_stops_everything(tmp_path: Path) -> None:
    up = start_up(tmp_path, "--no-sandbox", "--no-demo")
    try:
        await eventually(lambda: port_in_use(up.nats_port) and port_in_use(up.redis_port), timeout=30, what="servers")
        await eventually(lambda: "Healer is starting" in up.output(), timeout=60, what="the services started")
        everything = psutil.Process(up.process.pid).children(recursive=True)
        up.process.send_signal(signal.SIGHUP)
        assert await asyncio.to_thread(up.process.wait, 30) == 0, up.output()[-3000:]
        _gone, alive = psutil.wait_procs(everything, timeout=10)
        assert not alive, [p.cmdline()[:3] for p in alive]
    finally:
        stop_with_descendants(up.process)
