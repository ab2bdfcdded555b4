"""The memory commands as an operator runs them against a running Healer: `healer analyze` over a week of
history with planted patterns (the report, and what memory learns from it), `healer predict`, `healer memory
add / list / query / stats`, and memory-bridge's own analysis once the system has been quiet for a while.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from healer_common.runtime.busclient import BusClient
from healer_common.settings.memory import SleepJob
from healer_common.testing import ServiceRunner, eventually, recording, write_settings
from tests.support.analysis_history import GeneratedHistory, generate
from tests.support.samples import alert

pytestmark = pytest.mark.integration


def healer(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "healer_cli", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("HEALER_")},
            "HEALER_CONFIG": str(config),
            "COLUMNS": "250",
        },
    )


def last_week() -> GeneratedHistory:
    """A generated week that began on a Monday at least eight days ago."""
    monday = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=8)
    return generate(seed=1, start=monday - dt.timedelta(days=monday.weekday()))


async def publish_history(bus: BusClient, week: GeneratedHistory) -> None:
    for item in week.alerts:
        await bus.publish(item)
    for change in week.changes:
        await bus.publish_event(bus.space.changes(change.cluster), change)
    for batch in week.metrics:
        await bus.publish_event(bus.space.custom_events("generator"), batch)


def answer_of(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


async def test_healer_analyze_reports_a_weeks_planted_patterns_and_memory_then_predicts_from_them(
    services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    week = last_week()
    await publish_history(bus, week)
    services.start("memory-bridge")
    await services.wait_running()

    result = healer(services.config_path, "analyze", "--since", "16d", "--output", str(tmp_path / "report.json"))

    assert result.returncode == 0, result.stderr + result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    correlations = {(c["trigger"], c["namespace"], c["predicts"], c["service"]) for c in report["correlations"]}
    temporal = {(t["signal"], t["namespace"], t["weekday"], t["hour"]) for t in report["temporal"]}
    assert correlations == set(week.planted.correlations)
    assert temporal == set(week.planted.temporal)
    assert report["counts"]["alerts"] == len(week.alerts)
    assert "A7 in cto is followed by H6 on redis" in result.stdout
    stats = answer_of(healer(services.config_path, "memory", "stats", "--json"))
    assert stats["patterns"] == report["insights_stored"] == report["insights_new"] > 0

    await bus.publish(alert("A7", namespace="cto", starts_at=dt.datetime.now(dt.UTC)))

    def predicted() -> list[dict[str, Any]]:
        answer = answer_of(healer(services.config_path, "predict", "--namespace", "cto", "--json"))
        return [p for p in answer["predictions"] if p["predicts"] == "H6"]

    (h6,) = await eventually(predicted, what="an H6 prediction after A7 fired in cto", interval=0.5)
    assert h6["service"] == "redis"
    assert h6["confidence"] > 0.7


async def test_healer_memory_adds_lists_queries_and_counts(services: ServiceRunner) -> None:
    services.start("memory-bridge")
    await services.wait_running()
    config = services.config_path

    added = healer(
        config,
        "memory",
        "add",
        "--content",
        "ArgoCD sync failures: rotate the repo credentials",
        "--type",
        "procedural",
    )
    healer(
        config, "memory", "add", "--content", "the builds queue is drained every night at 02:00", "--type", "factual"
    )
    listed = healer(config, "memory", "list", "--limit", "20")
    queried = answer_of(healer(config, "memory", "query", "--text", "ArgoCD sync failures", "--limit", "10", "--json"))
    stats = answer_of(healer(config, "memory", "stats", "--json"))

    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("remembered ")
    assert "rotate the repo credentials" in listed.stdout
    assert listed.stdout.index("builds queue") < listed.stdout.index("rotate the repo"), "newest first"
    assert [m["record"]["content"] for m in queried["matches"]] == ["ArgoCD sync failures: rotate the repo credentials"]
    assert (stats["total"], stats["by_type"]) == (2, {"procedural": 1, "factual": 1})


async def test_the_memory_commands_say_when_memory_bridge_is_not_there(healer_settings: Any, tmp_path: Path) -> None:
    config = write_settings(healer_settings, tmp_path / "healer.yaml")

    result = healer(config, "memory", "stats")

    assert result.returncode == 1
    assert "is the service running?" in result.stderr


async def test_analyze_writes_its_report_even_when_memory_cannot_take_the_insights(
    bus: BusClient, healer_settings: Any, tmp_path: Path
) -> None:
    await publish_history(bus, last_week())
    config = write_settings(healer_settings, tmp_path / "healer.yaml")

    result = healer(config, "analyze", "--since", "16d", "--output", str(tmp_path / "report.json"))

    assert result.returncode == 1
    assert "memory-bridge took 0 of" in result.stderr
    assert json.loads((tmp_path / "report.json").read_text())["correlations"]


async def test_memory_bridge_analyses_history_on_its_own_once_the_system_is_quiet(
    services: ServiceRunner, bus: BusClient
) -> None:
    await publish_history(bus, last_week())
    only_correlations = {"correlations": SleepJob(every_s=7_200.0, window_s=16 * 86_400.0)}
    services.configure("memory", analysis_idle_s=1.0, sleep_jobs=only_correlations)

    async with recording(bus, bus.space.audit("memory-bridge")) as audits:
        services.start("memory-bridge")
        learned = await audits.wait_for(
            lambda m: json.loads(m.data)["action"] == "analyze", timeout=90, what="an idle-time analysis"
        )

    details = json.loads(learned.data)["details"]
    assert details["insights"] == details["new"] > 0
    stats = answer_of(healer(services.config_path, "memory", "stats", "--json"))
    assert stats["patterns"] == details["insights"]
