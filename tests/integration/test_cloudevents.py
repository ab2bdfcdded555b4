"""CloudEvents as users' systems send them, in every content mode: over real HTTP to the collector's
`POST /events/<source>` (structured, binary, batch, data_base64) and over real NATS (binary mode in `ce-*`
headers, data_base64), built with the CloudEvents SDK as a producer would; each reaches the bus as a structured
CloudEvent (`application/cloudevents+json`) and raises its alert, a sender's retry is stored once, and a bad
event is refused with the reason."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from healer_common.contract.events import EVENT_ADAPTER
from healer_common.contract.streams import EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import ServiceRunner, bearer, eventually, recording

pytestmark = pytest.mark.integration

FORMAT = JSONFormat()


def oom(event_id: str, pod: str, data_as_bytes: bool = False) -> CloudEvent:
    data: Any = {"resource": {"kind": "Pod", "namespace": "cto", "name": pod}, "reason": "OOMKilled"}
    attributes = {"id": event_id, "source": "https://ci.example.com/watchdog", "type": "healer.condition.v1"}
    attributes |= {"datacontenttype": "application/json", "cluster": "prod-eu-1"}
    return CloudEvent(attributes, json.dumps(data).encode() if data_as_bytes else data)


async def collector_url(services: ServiceRunner) -> str:
    services.start("collector")
    await services.wait_running("collector")
    redis = connect_redis(services.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(services.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    return str(next(b.detail["http"] for b in beats if b.service == "collector"))


async def test_every_http_mode_reaches_the_bus_as_a_structured_cloudevent_and_a_retry_is_stored_once(
    services: ServiceRunner, bus: BusClient
) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    url = await collector_url(services)
    structured = to_structured(oom("s-1", "rex-1"), FORMAT)
    binary = to_binary(oom("b-1", "rex-2"), FORMAT)
    base64 = to_structured(oom("d-1", "rex-3", data_as_bytes=True), FORMAT)
    batch = [json.loads(to_structured(oom(f"batch-{i}", f"cleo-{i}"), FORMAT).body) for i in (1, 2)]
    subject = f"{bus.space.custom_events('watchdog')}.*"  # the ingest publishes each in its partition

    async with (
        recording(bus, subject) as seen,
        httpx.AsyncClient(base_url=url, timeout=5, headers=bearer(services.settings, "test-source")) as http,
    ):
        answers = [
            await http.post("/events/watchdog", content=structured.body, headers=structured.headers),
            await http.post("/events/watchdog", content=binary.body, headers=binary.headers),
            await http.post("/events/watchdog", content=binary.body, headers=binary.headers),  # a sender's retry
            await http.post("/events/watchdog", content=base64.body, headers=base64.headers),
            await http.post(
                "/events/watchdog", json=batch, headers={"content-type": "application/cloudevents-batch+json"}
            ),
        ]
        await seen.wait_count(lambda m: True, 6)

    assert [a.status_code for a in answers] == [202] * 5, [a.text for a in answers]
    assert b'"data_base64"' in base64.body
    assert {m.headers["content-type"] for m in seen.messages} == {"application/cloudevents+json"}
    events = [EVENT_ADAPTER.validate_json(m.data) for m in seen.messages]
    assert {e.data.resource.name for e in events} == {"rex-1", "rex-2", "rex-3", "cleo-1", "cleo-2"}  # type: ignore[union-attr]
    assert {e.cluster for e in events} == {"prod-eu-1"}

    async def stored() -> list[str]:
        return [json.loads(m.data)["id"] async for m in bus.history(EVENTS, since, filter_subject=subject)]

    await eventually(lambda: _count(stored, 5), what="five events stored")
    assert sorted(await stored()) == ["b-1", "batch-1", "batch-2", "d-1", "s-1"], "the retry was dropped"


async def _count(stored: Any, wanted: int) -> bool:
    return len(await stored()) == wanted


async def test_a_bad_binary_event_is_refused_with_the_reason(services: ServiceRunner) -> None:
    url = await collector_url(services)
    message = to_binary(oom("b-2", "rex-2"), FORMAT)
    headers = {k: v for k, v in message.headers.items() if k != "ce-id"}

    async with httpx.AsyncClient(base_url=url, timeout=5, headers=bearer(services.settings, "test-source")) as http:
        answer = await http.post("/events/watchdog", content=message.body, headers=headers)
        wrong = await http.post(
            "/events/watchdog", content=b"OOMKilled", headers={**message.headers, "content-type": "text/plain"}
        )

    assert answer.status_code == 400
    assert answer.json()["error"] == "id: Field required"
    assert wrong.status_code == 400
    assert "Healer events carry JSON data" in wrong.json()["error"]


async def test_binary_mode_and_data_base64_over_nats_raise_their_alerts(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("detector")
    await services.wait_running("detector")
    subject = bus.space.custom_events("watchdog")
    binary = to_binary(oom("nb-1", "tess-1"), FORMAT)
    base64 = to_structured(oom("nd-1", "tess-2", data_as_bytes=True), FORMAT)

    async with recording(bus, bus.space.alerts("H8")) as alerts:
        await bus.publish_raw(subject, binary.body, {**binary.headers, "Nats-Msg-Id": "nb-1"})
        await bus.publish_raw(subject, base64.body, {**base64.headers, "Nats-Msg-Id": "nd-1"})
        await alerts.wait_count(lambda m: json.loads(m.data)["status"] == "firing", 2)

    pods = {json.loads(m.data)["labels"]["pod"] for m in alerts.messages}
    assert pods == {"tess-1", "tess-2"}
    assert {json.loads(m.data)["cluster"] for m in alerts.messages} == {"prod-eu-1"}
