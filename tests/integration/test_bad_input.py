"""Bad input loses nothing: it is acked once, copied with its reason to `healer.dlq.<service>`, counted in the
service's metrics, and the service goes on with the next message.
"""

from __future__ import annotations

import json

import httpx
import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import ServiceRunner, eventually, partitions_drained, recording

pytestmark = pytest.mark.integration


async def test_invalid_events_are_dead_lettered_with_reason_and_valid_ones_still_alert(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("detector")
    await services.wait_running()
    subject = bus.space.custom_events("demo")
    good = condition_event("cto/rex-2", "OOMKilled", source="dlq-test")
    async with recording(bus, bus.space.all_dlq, bus.space.all_alerts) as seen:
        await bus.publish_raw(subject, b"{not json", {"Nats-Msg-Id": "bad-1"})
        no_resource = {"specversion": "1.0", "id": "x", "source": "s", "type": "healer.condition.v1", "data": {}}
        await bus.publish_raw(subject, json.dumps(no_resource).encode(), {"Nats-Msg-Id": "bad-2"})
        await bus.publish_event(subject, good)

        alert = await seen.wait_for(lambda m: m.subject == bus.space.alerts("H8"), what="alert after bad input")
        assert json.loads(alert.data)["labels"]["pod"] == "rex-2"
        await seen.wait_count(lambda m: ".dlq." in m.subject, 2)

    letters = [json.loads(m.data) for m in seen.messages if m.subject == bus.space.dlq("detector")]
    assert len(letters) == 2, "each bad message is dead-lettered exactly once"
    not_json, invalid = sorted(letters, key=lambda d: d["payload"])[::-1]
    assert "not valid JSON" in not_json["reason"]
    assert not_json["payload"] == "{not json"
    assert "data.resource: Field required" in invalid["reason"]
    assert invalid["subject"] == subject
    await eventually(lambda: partitions_drained(bus), what="no bad message left unacked")

    redis = connect_redis(services.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(services.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    metrics_url = next(b.detail["http"] for b in beats if b.service == "detector") + "/metrics"
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(metrics_url)).text
    assert 'healer_dead_letters_total{family="' + bus.space.root + '.events",service="detector"} 2.0' in metrics
