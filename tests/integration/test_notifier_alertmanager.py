"""Healer's alerts in the team's own Alertmanager (`notifier.alertmanager_url`), against Debian's real
`prometheus-alertmanager`: a firing alert appears there with its readable alertname, catalogue id and links,
stays firing while Healer keeps posting it, and ends when Healer resolves it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from healer_common.contract.messages import new_id
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import ServerProcess
from healer_common.testing import ServiceRunner, eventually
from tests.support.samples import alert, pod

pytestmark = pytest.mark.integration


async def active(am: ServerProcess) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.get(f"{am.url}/api/v2/alerts", params={"active": "true"})
    answer.raise_for_status()
    return list(answer.json())


async def test_a_healer_alert_fires_in_alertmanager_while_healer_says_so_and_ends_when_it_resolves(
    services: ServiceRunner, bus: BusClient, alertmanager: ServerProcess
) -> None:
    services.configure("notifier", console=False, alertmanager_url=alertmanager.url, alertmanager_resend_s=1.0)
    services.start("notifier")
    await services.wait_running("notifier")
    now = dt.datetime.now(dt.UTC)
    firing = alert("H8", resource=pod("rex-1"), starts_at=now)
    firing = firing.evolve(labels={**firing.labels, "task-id": "42"}, event_id=new_id())

    await bus.publish(firing)
    await eventually(lambda: _count(alertmanager, 1), what="the alert in Alertmanager")
    [shown] = await active(alertmanager)

    assert shown["labels"]["alertname"] == "MemoryPressure"
    assert shown["labels"]["alert_id"] == "H8"
    assert shown["labels"]["task_id"] == "42", "a label name Alertmanager refuses is written as it accepts"
    assert shown["annotations"]["runbook_url"].startswith("https://")
    assert shown["generatorURL"].startswith("healer://default/detector/H8")
    assert shown["status"]["state"] == "active"
    first_end = shown["endsAt"]

    await eventually(lambda: _ends_after(alertmanager, first_end), what="Healer posting the firing alert again")

    await bus.publish(firing.evolve(status="resolved", ends_at=now + dt.timedelta(seconds=1), event_id=new_id()))
    await eventually(lambda: _count(alertmanager, 0), what="the alert resolved in Alertmanager")


async def _count(am: ServerProcess, wanted: int) -> bool:
    return len(await active(am)) == wanted


async def _ends_after(am: ServerProcess, before: str) -> bool:
    shown = await active(am)
    return bool(shown) and shown[0]["endsAt"] > before
