"""`healer status --all`: each service, NATS and Redis with their health; exit 0 only when all is up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from healer_common.settings import SERVICES
from healer_common.testing import ServiceRunner

pytestmark = pytest.mark.integration


def healer_status(runner: ServiceRunner, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    return subprocess.run(
        [sys.executable, "-m", "healer_cli", "status", "--all", "--config", str(runner.config_path), *args],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=60,
    )


async def test_status_lists_six_services_up_then_exits_nonzero_when_one_stops(services: ServiceRunner) -> None:
    services.start(*SERVICES)
    await services.wait_running()

    healthy = healer_status(services, "--json")
    assert healthy.returncode == 0, healthy.stderr
    report = json.loads(healthy.stdout)
    assert report["nats"]["ok"]
    assert report["redis"]["ok"]
    assert {s["service"]: s["up"] for s in report["services"]} == dict.fromkeys(SERVICES, True)
    assert all(s["instances"][0]["consumer_lag"] in (0, None) for s in report["services"])

    table = healer_status(services)
    assert "all healthy" in table.stdout

    services.stop("notifier")
    down = healer_status(services)
    assert down.returncode == 1
    assert "notifier" in down.stdout
    assert "DOWN" in down.stdout
    assert "something is down" in down.stdout


def test_status_reports_unreachable_nats_and_redis_and_exits_nonzero(tmp_path: Path) -> None:
    config = tmp_path / "healer.yaml"
    config.write_text(
        "nats: {url: 'nats://127.0.0.1:1', connect_timeout_s: 0.5}\nredis: {url: 'redis://127.0.0.1:1/0'}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    result = subprocess.run(
        [sys.executable, "-m", "healer_cli", "status", "--json", "--config", str(config)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert not report["nats"]["ok"]
    assert report["nats"]["error"]
    assert not report["redis"]["ok"]
