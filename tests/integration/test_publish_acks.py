"""A publish whose acknowledgement cannot be read is sent again under the same `Nats-Msg-Id`, not failed: the
fuzz benchmark saw handlers fail on a JSONDecodeError from nats-py reading an empty PubAck under load, and the
message they were handling was retried as if the handler had a bug.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from healer_common.contract.streams import ALERTS
from healer_common.runtime.bus import Service
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import eventually

pytestmark = pytest.mark.integration


async def test_a_publish_whose_ack_is_unreadable_is_sent_again_under_the_same_msg_id(
    healer_settings: Settings, bus: BusClient
) -> None:
    service = Service("ack-probe", healer_settings)
    running = asyncio.create_task(service.run())
    try:
        await eventually(lambda: service.state == "running", what="the probe service running")
        await bus.js.delete_stream(ALERTS.name(bus.space))  # a stand-in answers for JetStream instead
        ids: list[str] = []

        async def answer(msg: Any) -> None:
            ids.append((msg.headers or {}).get("Nats-Msg-Id", ""))
            ack = {"stream": ALERTS.name(bus.space), "seq": 1}
            await msg.respond(b"" if len(ids) < 3 else json.dumps(ack).encode())

        stand_in = await bus.nc.subscribe(bus.space.alerts("H1"), cb=answer)
        try:
            await service.publish_raw(bus.space.alerts("H1"), b"{}", {"Nats-Msg-Id": "alert-once"})
        finally:
            await stand_in.unsubscribe()
        assert ids == ["alert-once"] * 3, "two unreadable acks, then the third copy acknowledged"
    finally:
        service.stop()
        await asyncio.wait_for(running, 30)
