"""A flood cannot fill the disk: every stream has a size limit (contract/streams.py, `bus.max_mib`), and past it
the oldest messages make room. Publishing never fails or blocks at the limit, the stream stays within it, and
what is kept is the newest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer_common.contract.streams import EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import ServerProcess
from healer_common.settings.bus import STREAM_KEYS
from healer_common.testing import isolated_settings

pytestmark = pytest.mark.integration
LIMIT_MIB = 0.25
BODY = 1024


async def test_a_flood_past_the_size_limit_drops_the_oldest_and_publishing_goes_on(
    nats_server: ServerProcess, redis_server: ServerProcess, tmp_path: Path
) -> None:
    settings = isolated_settings(
        nats_server.url,
        f"{redis_server.url}/0",
        tmp_path,
        bus={"max_mib": {**dict.fromkeys(STREAM_KEYS, 0), "EVENTS": LIMIT_MIB}},
    )
    limit = int(LIMIT_MIB * 1024 * 1024)
    async with BusClient(settings, name="limits-test") as bus:
        await bus.ensure_streams()
        stream = EVENTS.name(bus.space)
        assert (await bus.js.stream_info(stream)).config.max_bytes == limit

        flood = 3 * limit // BODY
        subject = bus.space.custom_events("flood")
        for n in range(flood):
            await bus.js.publish(subject, json.dumps({"n": n, "pad": "x" * BODY}).encode())

        state = (await bus.js.stream_info(stream)).state
        assert state.bytes <= limit, "the stream stays within its limit"
        assert state.first_seq > 1, "the oldest messages made room"
        assert state.last_seq == flood, "every publish was taken"
        newest = await bus.js.get_last_msg(stream, subject)
        assert json.loads(newest.data or b"{}")["n"] == flood - 1
