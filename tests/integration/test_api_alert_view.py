"""The read API's alert view on real NATS: built from the stream when the api starts, kept current as alerts are
stored (an alert is listed as soon as its publish is acknowledged), answering pages, cursors, filters and time
bounds as a read off the stream does, and turned off by `api.alert_view_max: 0` with the same answers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import httpx
import pytest

from healer_common.contract.alerts import Severity
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner
from tests.support.api_support import api_url
from tests.support.samples import alert, pod

pytestmark = pytest.mark.integration


async def publish(bus: BusClient, numbers: range) -> None:
    for n in numbers:
        severity: Severity = "critical" if n % 3 == 0 else "warning"
        await bus.publish(alert("H8" if n % 2 else "H4", severity=severity, resource=pod(f"rex-{n}")))


def names(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, (answer.status_code, answer.text)
    return [a["resource"]["name"] for a in answer.json()["items"]]


async def every_page(api: httpx.AsyncClient, params: dict[str, Any]) -> list[str]:
    walked, cursor = [], None
    while True:
        answer = await api.get("/api/v1/alerts", params={**params, **({"cursor": cursor} if cursor else {})})
        walked += names(answer)
        cursor = answer.json()["next"]
        if cursor is None:
            return walked


@pytest.mark.parametrize("view_max", [100_000, 0])
async def test_alerts_stored_before_and_after_the_api_starts_are_listed_alike_with_or_without_the_view(
    services: ServiceRunner, bus: BusClient, view_max: int
) -> None:
    await publish(bus, range(40))
    await asyncio.sleep(0.01)  # stored times are the server's: leave a gap for `until` to fall in
    between = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.01)
    services.configure("api", alert_view_max=view_max)
    services.start("api")
    await services.wait_running("api")
    async with httpx.AsyncClient(base_url=await api_url(services.settings), timeout=10) as api:
        assert names(await api.get("/api/v1/alerts", params={"limit": 3})) == ["rex-39", "rex-38", "rex-37"]
        for n in range(40, 60):  # each one listed at once: the view catches up with what was just stored
            await publish(bus, range(n, n + 1))
            assert names(await api.get("/api/v1/alerts", params={"limit": 1})) == [f"rex-{n}"]

        assert await every_page(api, {"limit": 7}) == [f"rex-{n}" for n in range(59, -1, -1)]
        critical_h8 = await every_page(api, {"limit": 4, "alert_id": "H8", "severity": "critical"})
        assert critical_h8 == [f"rex-{n}" for n in range(59, -1, -1) if n % 6 == 3]
        older = await every_page(api, {"limit": 15, "until": between.isoformat()})
        assert older == [f"rex-{n}" for n in range(39, -1, -1)]
        newer = await every_page(api, {"limit": 15, "since": between.isoformat(), "status": "firing"})
        assert newer == [f"rex-{n}" for n in range(59, 39, -1)]
        assert names(await api.get("/api/v1/alerts", params={"severity": "info"})) == []
    built = [json.loads(line) for line in services.running["api"].log().splitlines() if "alert_view_built" in line]
    assert [b["alerts"] for b in built] == ([40] if view_max else [])  # read off the stream at start, or never
