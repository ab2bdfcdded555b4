"""The collector's HTTP ingest refuses what is over a limit at the edge, with a 4xx naming the limit, and goes
on serving: no request can cut it off NATS (a 5,000-character source name used to make nats-server close its
connection for good), and no chunked or slow body gets around the size limit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, bearer, recording
from tests.support.raw_http import raw_post
from tests.support.service_http import service_url

pytestmark = pytest.mark.integration
CE_JSON = {"Content-Type": "application/cloudevents+json"}


@pytest.fixture
async def collector(services: ServiceRunner) -> AsyncIterator[httpx.AsyncClient]:
    services.configure(
        "limits",
        body_bytes=64 * 1024,
        event_bytes=16 * 1024,
        batch_events=5,
        alerts_per_webhook=3,
        label_bytes=256,
        body_timeout_s=1.0,
    )
    services.start("collector")
    await services.wait_running()
    url = await service_url(services.settings, "collector")
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=bearer(services.settings, "test-source")) as client:
        yield client


def event_body(pod: str = "cto/rex-1") -> bytes:
    return condition_event(pod, "OOMKilled", source="ingest-test").model_dump_json().encode()


def webhook(alerts: int, label: str = "rex-1") -> dict[str, Any]:
    alert = {"status": "firing", "labels": {"alertname": "X", "pod": label}, "startsAt": "2026-01-05T09:00:00Z"}
    return {"receiver": "team", "status": "firing", "alerts": [alert] * alerts}


async def test_a_5000_character_source_name_is_refused_and_the_collector_stays_ready(
    collector: httpx.AsyncClient, bus: BusClient
) -> None:
    refused = await collector.post("/events/" + "s" * 5_000, content=event_body(), headers=CE_JSON)

    assert refused.status_code == 400
    assert "5000 characters long; at most 64" in refused.json()["error"]
    assert "limits.subject_token_chars" in refused.json()["error"]
    assert (await collector.get("/readyz")).status_code == 200
    assert (await collector.get("/healthz")).status_code == 200
    async with recording(bus, bus.space.all_events) as seen:
        accepted = await collector.post("/events/ci", content=event_body(), headers=CE_JSON)
        assert accepted.status_code == 202, accepted.text
        ci = bus.space.custom_events("ci")
        await seen.wait_for(lambda m: bus.space.without_partition(m.subject) == ci, what="the next event on the bus")


async def test_a_source_name_that_is_not_one_subject_token_is_refused(collector: httpx.AsyncClient) -> None:
    refused = await collector.post("/events/my.ci.*", content=event_body(), headers=CE_JSON)

    assert refused.status_code == 400
    assert "only letters, digits, _ and -" in refused.json()["error"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_by_its_content_type_gets_415(
    collector: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/events/ci", "/alertmanager"):
        refused = await collector.post(path, content=event_body(), headers=headers)
        assert refused.status_code == 415, (path, refused.text)
        assert "application/json" in refused.json()["error"]


async def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(collector: httpx.AsyncClient) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b"["
        for _ in range(1_000):  # 1 MB in all, far over the 64 KiB limit
            sent += 1
            yield b" " * 1_024

    refused = await collector.post("/events/ci", content=chunks(), headers=CE_JSON)

    assert refused.status_code == 413
    assert "limits.body_bytes=65536" in refused.json()["error"]


async def test_a_body_sent_too_slowly_gets_408_and_others_are_served_meanwhile(collector: httpx.AsyncClient) -> None:
    base, auth = str(collector.base_url), {"Authorization": collector.headers["Authorization"]}
    slow = asyncio.create_task(raw_post(base, "/events/ci", event_body(), bytes_per_s=20, headers=auth))
    stalled = asyncio.create_task(raw_post(base, "/events/ci", event_body(), stop_after=100, headers=auth))
    meanwhile = await collector.post("/events/ci", content=event_body("cto/other"), headers=CE_JSON)
    trickled, cut_short = await slow, await stalled

    assert meanwhile.status_code == 202
    assert trickled.status == 408
    assert "limits.body_timeout_s" in trickled.json()["error"]
    assert cut_short.status == 408


async def test_events_and_batches_over_their_limits_get_413(collector: httpx.AsyncClient) -> None:
    event = json.loads(event_body())
    event["data"]["message"] = "m" * 8_000
    event["data"]["labels"] = {f"l{i}": "v" * 200 for i in range(50)}
    big = await collector.post("/events/ci", content=json.dumps(event), headers=CE_JSON)
    batch = [json.loads(event_body(f"cto/p-{i}")) for i in range(6)]
    many = await collector.post(
        "/events/ci", content=json.dumps(batch), headers={"Content-Type": "application/cloudevents-batch+json"}
    )

    empty = await collector.post(
        "/events/ci", content=b"[]", headers={"Content-Type": "application/cloudevents-batch+json"}
    )

    assert empty.status_code == 400
    assert "holds no event" in empty.json()["error"]
    assert big.status_code == 413
    assert "limits.event_bytes allows 16384" in big.json()["error"]
    assert many.status_code == 413
    assert "batch of 6 events exceeds limits.batch_events=5" in many.json()["error"]


async def test_alertmanager_bodies_over_their_limits_get_413_naming_the_alert(collector: httpx.AsyncClient) -> None:
    too_many = await collector.post("/alertmanager", json=webhook(alerts=4))
    too_long = await collector.post("/alertmanager", json=webhook(alerts=1, label="x" * 300))
    fine = await collector.post("/alertmanager", json=webhook(alerts=3))

    assert too_many.status_code == 413
    assert "4 alerts, over limits.alerts_per_webhook=3" in too_many.json()["error"]
    assert too_long.status_code == 413
    assert "alerts[0].labels.pod: 300 bytes, over limits.label_bytes=256" in too_long.json()["error"]
    assert fine.status_code == 202, fine.text
