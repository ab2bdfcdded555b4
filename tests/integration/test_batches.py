"""A batch consumer (the correlator takes alerts as they arrived, many at once) loses nothing to bad input:
a message that fails its model is dead-lettered once with its reason, and the good ones of the same batch
are handled and acked.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, recording
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
