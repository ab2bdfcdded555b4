"""deploy/monitoring against a running Healer: the real Prometheus binary scrapes every service of `healer up`
(with the sandbox's leaking pod played once, so a remediation has run), then every query of the Grafana
dashboard and every rule of the PrometheusRule is evaluated. A query that errors or returns nothing fails, so
a metric renamed in code, or a label a panel expects and no series carries, is caught here."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml

from healer_common.runtime.servers import ServerProcess, start_prometheus
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), WHOLE_SYSTEM]

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
SANDBOX = {"HEALER_SANDBOX_SCENARIOS": "leaking-pod", "HEALER_SANDBOX_SPEED": "30", "HEALER_SANDBOX_HOLD": "true"}
THRESHOLD = re.compile(r"^(?P<measure>.+?)\s+(==|!=|>=|<=|>|<)\s+[0-9.]+$", re.DOTALL)


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads((MONITORING / "grafana" / "healer.json").read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p.get("targets", [])]


def rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path, env=SANDBOX)
    yield running
    stop_with_descendants(running.process)


@pytest.fixture
def prometheus_dir(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def scrape_targets(up: Up) -> list[str] | None:
    answer = up.healer("status", "--json")
    if answer.returncode != 0:
        return None
    services = json.loads(answer.stdout)["services"]
    return [s["instances"][0]["detail"]["http"].removeprefix("http://") for s in services]


async def query(prometheus: ServerProcess, expr: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=prometheus.url, timeout=10) as http:
        answer = (await http.get("/api/v1/query", params={"query": expr})).json()
    return dict(answer)


async def a_remediation_finished(up: Up, tmp_path: Path) -> None:
    finished: list[dict[str, Any]] = []
    connection = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")

    async def on_run(msg: Any) -> None:
        finished.append(json.loads(msg.data))

    try:
        await connection.subscribe("healer.remediations.succeeded", cb=on_run)
        played = up.healer("sandbox", "replay", "leaking-pod", "--data-dir", str(tmp_path / "data" / "sandbox"))
        assert played.returncode == 0, played.stderr
        await eventually(lambda: finished, timeout=120, interval=0.2, what="a remediation that succeeded")
    finally:
        await connection.close()


def test_every_rule_is_a_measure_against_a_threshold() -> None:
    for rule in rules():
        assert THRESHOLD.match(rule["expr"]), f"{rule['alert']}: write `<measure> <op> <number>`"
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in ("warning", "critical")


async def test_every_dashboard_query_and_rule_returns_data_from_a_running_healer(
    up: Up, tmp_path: Path, prometheus_dir: list[ServerProcess]
) -> None:
    try:
        targets = await eventually(lambda: scrape_targets(up), timeout=150, interval=1, what="every service up")
    except BaseException:
        print("healer status:", up.healer("status").stdout, "healer up's output:", up.output()[-6000:], sep="\n")
        raise
    await a_remediation_finished(up, tmp_path)
    prometheus = start_prometheus(tmp_path / "prometheus", targets, scrape_interval_s=1.0)
    prometheus_dir.append(prometheus)

    async def scraped_thrice() -> bool:
        answer = await query(prometheus, 'min(count_over_time(up{job=~"healer.*"}[1m])) >= 3 and count(up == 1) == 7')
        return bool(answer["data"]["result"])

    await eventually(scraped_thrice, timeout=60, interval=0.5, what="three scrapes of all seven services")

    empty, failed = [], []
    checks = [(f"panel {title!r}", expr) for title, expr in dashboard_queries()]
    for rule in rules():
        checks.append((f"rule {rule['alert']} (as written)", rule["expr"]))
        measure = THRESHOLD.match(rule["expr"])
        assert measure is not None
        checks.append((f"rule {rule['alert']} (its measure)", measure["measure"]))
    for what, expr in checks:
        answer = await query(prometheus, expr)
        if answer["status"] != "success":
            failed.append(f"{what}: {answer.get('error')}")
        elif not answer["data"]["result"] and "as written" not in what:
            empty.append(f"{what}: {expr}")
    assert not failed, "queries that Prometheus refused:\n" + "\n".join(failed)
    assert not empty, "queries that returned nothing:\n" + "\n".join(empty)
    assert len(dashboard_queries()) >= 19, "the dashboard lost panels"
