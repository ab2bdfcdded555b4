"""A batch consumer (the correlator takes alerts as they arrived, many at once) loses nothing to bad input:
a message that fails its model is dead-lettered once with its reason, and the good ones of the same batch
are handled and acked; nor to a slow batch: one that runs past its ack_wait is not redelivered under it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json

import pytest
from redis import exceptions as redis_errors

from healer_common.contract.alerts import Alert
from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.bus import Service
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, eventually, recording
from tests.support.correlator_bus import drained
from tests.support.correlator_samples import pod_alert

pytestmark = pytest.mark.integration


async def test_bad_alerts_in_a_batch_are_dead_lettered_and_the_good_ones_correlated(
    services: ServiceRunner, bus: BusClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    good = [pod_alert(f"agent-{i}", namespace=f"team-{i}", starts_at=now) for i in range(20)]
    for alert in good[:10]:
        await bus.publish(alert)
    await bus.publish_raw(bus.space.alerts("H8"), b"{not json", {"Nats-Msg-Id": "bad-1"})
    await bus.publish_raw(bus.space.alerts("H8"), json.dumps({"alert_id": "H8"}).encode(), {"Nats-Msg-Id": "bad-2"})
    for alert in good[10:]:
        await bus.publish(alert)

    async with recording(bus, bus.space.all_dlq, bus.space.all_incidents) as seen:
        services.start("correlator")  # everything is waiting: the first batch holds all 22
        await services.wait_running()
        await drained(bus, CORRELATOR_ALERTS)
        await seen.wait_count(lambda m: ".incidents." in m.subject, 20)

    letters = [json.loads(m.data) for m in seen.messages if m.subject == bus.space.dlq("correlator")]
    assert sorted(letter["payload"][:9] for letter in letters) == ['{"alert_i', "{not json"]
    opened = {json.loads(m.data)["alerts"][0]["resource"]["name"] for m in seen.messages if ".incidents." in m.subject}
    assert opened == {f"agent-{i}" for i in range(20)}
    assert "handled_batch" in services.running["correlator"].log()


async def test_a_batch_slower_than_its_ack_wait_is_handled_once(healer_settings: Settings, bus: BusClient) -> None:
    spec = dataclasses.replace(CORRELATOR_ALERTS, durable="slow-batches", ack_wait_s=1.0)
    service = Service("correlator", healer_settings)
    handled: list[str] = []

    @service.consume_batch(spec, max_batch=50)
    async def slowly(alerts: list[Alert]) -> None:
        await asyncio.sleep(3 * spec.ack_wait_s)  # a starved process: three ack_waits for one batch
        handled.extend(a.fingerprint for a in alerts)

    now = dt.datetime.now(dt.UTC)
    alerts = [pod_alert(f"slow-{i}", namespace="batch", starts_at=now) for i in range(10)]
    for alert in alerts:
        await bus.publish(alert)
    task = asyncio.create_task(service.run())
    try:
        await eventually(lambda: len(handled) >= len(alerts), timeout=30, what="the batch handled")
        await asyncio.sleep(2 * spec.ack_wait_s)  # a redelivery would have come by now
    finally:
        service.stop()
        await task

    assert sorted(handled) == sorted(a.fingerprint for a in alerts), "each alert handled once, none redelivered"


async def test_a_lingering_consumer_takes_a_burst_in_full_batches_after_its_linger(
    healer_settings: Settings, bus: BusClient
) -> None:
    """Work that is not urgent (memory's view of current conditions) lingers once caught up: a burst that
    trickles in meanwhile reaches it in full batches one after another, not message by message beside the
    urgent work."""
    spec = dataclasses.replace(CORRELATOR_ALERTS, durable="lingering")
    service = Service("correlator", healer_settings)
    batches: list[tuple[float, int]] = []

    @service.consume_batch(spec, max_batch=50, linger_s=3.0)
    async def lingering(alerts: list[Alert]) -> None:
        batches.append((asyncio.get_running_loop().time(), len(alerts)))

    now = dt.datetime.now(dt.UTC)
    task = asyncio.create_task(service.run())
    try:
        await bus.publish(pod_alert("first", namespace="linger", starts_at=now))
        await eventually(lambda: len(batches) == 1, timeout=30, what="the first alert handled")
        for i in range(120):  # a burst trickling in over half a second, well inside the linger
            await bus.publish(pod_alert(f"burst-{i}", namespace="linger", starts_at=now))
            await asyncio.sleep(0.004)
        await eventually(lambda: sum(n for _, n in batches) == 121, timeout=30, what="the burst handled")
    finally:
        service.stop()
        await task

    assert [n for _, n in batches] == [1, 50, 50, 20], "the burst in full batches, not as it trickled in"
    (first, _), (full, _), (next_full, _), _ = batches
    assert full - first >= 3.0, "nothing taken during the linger"
    assert next_full - full < 0.5, "a full batch leaves more behind: the next is taken at once"


async def test_a_batch_that_meets_an_outage_more_times_than_max_deliver_waits_it_out_and_is_not_dead_lettered(
    healer_settings: Settings, bus: BusClient
) -> None:
    """An outage is not the message's fault: it is not counted against the consumer's max_deliver (5), only
    against NATS's own limit (bus.max_deliveries), as for a single-message consumer."""
    settings = healer_settings.model_copy(
        update={"bus": healer_settings.bus.model_copy(update={"outage_retry_max_s": 0.2})}
    )
    spec = dataclasses.replace(CORRELATOR_ALERTS, durable="outage-batches")
    service = Service("correlator", settings)
    tries: list[int] = []

    @service.consume_batch(spec, max_batch=50)
    async def redis_down_for_a_while(alerts: list[Alert]) -> None:
        tries.append(len(alerts))
        if len(tries) <= 2 * spec.max_deliver:
            raise redis_errors.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connect call failed")

    alert = pod_alert("outage-1", namespace="batch", starts_at=dt.datetime.now(dt.UTC))
    async with recording(bus, bus.space.all_dlq) as dead:
        await bus.publish(alert)
        task = asyncio.create_task(service.run())
        try:
            await eventually(lambda: len(tries) > 2 * spec.max_deliver, timeout=30, what="handled after the outage")
            await asyncio.sleep(0.5)  # a dead letter would have been published by now
        finally:
            service.stop()
            await task

    assert dead.messages == [], [json.loads(m.data)["reason"] for m in dead.messages]
