"""A consumer an earlier version created (max_deliver 5: an outage of about 8 s dead-lettered messages) is brought
to this version's settings when the service starts; faststream alone binds to it as it was."""

from __future__ import annotations

import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner

pytestmark = pytest.mark.integration


async def test_an_existing_consumer_is_brought_to_the_current_settings_at_start(
    services: ServiceRunner, bus: BusClient
) -> None:
    stream = CORRELATOR_ALERTS.stream.name(bus.space)
    old = ConsumerConfig(
        durable_name=CORRELATOR_ALERTS.durable,
        filter_subject=CORRELATOR_ALERTS.subject(bus.space),
        ack_policy=AckPolicy.EXPLICIT,
        max_deliver=5,
        ack_wait=30.0,
    )
    await bus.js.add_consumer(stream, config=old)

    services.start("correlator")
    await services.wait_running()

    info = await bus.js.consumer_info(stream, CORRELATOR_ALERTS.durable)
    assert info.config.max_deliver == services.settings.bus.max_deliveries
    assert "consumer_kept_as_is" not in services.running["correlator"].log()
