"""Liveness that tells the truth: a service whose NATS connection is closed for good exits (so its supervisor or
Kubernetes restarts it) instead of failing every message for ever, and `/healthz` fails while a handler is stuck,
while `/readyz` keeps its own meaning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from pathlib import Path

import httpx
import pytest

from healer_cli.demo import condition_event
from healer_common.contract.events import ConditionEvent
from healer_common.contract.streams import EVENTS, ConsumerSpec
from healer_common.errors import Unreachable
from healer_common.runtime.bus import EXIT_CONNECTION_LOST, Service
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import ServerProcess, start_nats
from healer_common.settings import Settings
from healer_common.testing import eventually, isolated_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def strict_nats(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server with a short max_control_line: a subject over about 200 characters makes it close the client
    (Healer's own subjects stay far shorter; this stands for any server-side refusal that ends a connection)."""
    server = start_nats(tmp_path / "nats", limits={"max_control_line": 256})
    yield server
    server.stop()


async def test_a_service_whose_connection_nats_closes_for_good_stops_with_an_exit_code_to_be_restarted(
    strict_nats: ServerProcess, redis_server: ServerProcess, tmp_path: Path
) -> None:
    settings = isolated_settings(strict_nats.url, f"{redis_server.url}/0", tmp_path)
    service = Service("liveness-probe", settings)
    running = asyncio.create_task(service.run())
    try:
        await eventually(lambda: service.state == "running", what="the probe service running")
        with pytest.raises(Unreachable):  # the server closes the connection over this line
            await service.publish_raw(service.space.custom_events("x") + "x" * 240, b"{}", {})

        await asyncio.wait_for(running, 30)  # it stops by itself

        assert service.exit_code == EXIT_CONNECTION_LOST
        assert service.vitals.trouble() is None, "stopped: nothing left to report"
    finally:
        service.stop()
        await asyncio.wait_for(running, 30)


STUCK = ConsumerSpec("liveness-probe", EVENTS, lambda s: s.custom_events("stuck"), max_deliver=5, ack_wait_s=60)


async def test_healthz_fails_while_a_handler_is_stuck_and_recovers_when_it_ends(
    healer_settings: Settings, bus: BusClient
) -> None:
    settings = healer_settings.model_copy(update={"bus": healer_settings.bus.model_copy(update={"stall_after_s": 1.0})})
    service = Service("liveness-probe", settings)
    release = asyncio.Event()
    entered = asyncio.Event()

    @service.consume(STUCK)
    async def wedged(event: ConditionEvent) -> None:
        del event
        entered.set()
        await release.wait()  # a handler waiting on something that never comes

    running = asyncio.create_task(service.run())
    try:
        await eventually(lambda: service.state == "running", what="the probe service running")
        event = condition_event("cto/rex-1", "OOMKilled", source="stuck")
        await bus.publish_raw(
            bus.space.custom_events("stuck"), event.model_dump_json().encode(), {"Nats-Msg-Id": event.id}
        )
        await asyncio.wait_for(entered.wait(), 15)
        async with httpx.AsyncClient(base_url=service.http.url, timeout=5) as client:

            async def alive() -> bool:
                return (await client.get("/healthz")).status_code == 200

            await eventually(lambda: _not(alive()), what="/healthz failing")
            answer = (await client.get("/healthz")).json()
            assert "has run for" in answer["reason"]
            assert "bus.stall_after_s" in answer["reason"]
            assert (await client.get("/readyz")).status_code == 200, "connected and beating: still ready"
            release.set()
            await eventually(alive, what="/healthz passing again")
    finally:
        release.set()
        service.stop()
        await asyncio.wait_for(running, 30)


async def _not(probe: Awaitable[bool]) -> bool:
    return not await probe
