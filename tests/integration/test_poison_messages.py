"""One poison message costs the pipeline under a second: a 2 MB event (on a NATS that takes 8 MB messages) and an
800 KB body whose dead-letter copy used to exceed 1 MiB (and was then retried for 30 s as if NATS were down) are
dead-lettered at once, with their reason and original size, and the next valid event still raises its alert.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.servers import ServerProcess, start_nats
from healer_common.testing import (
    ServiceRunner,
    eventually,
    isolated_settings,
    partitions_drained,
    recording,
)

pytestmark = pytest.mark.integration
MB = 1_000_000
POISON_BUDGET_S = 1.0


@pytest.fixture
def roomy_nats(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server that takes messages of up to 8 MiB, as some installations configure theirs."""
    server = start_nats(tmp_path / "nats", limits={"max_payload": 8 * 1024 * 1024})
    yield server
    server.stop()


def is_alert_for(bus: BusClient, pod: str) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        return msg.subject == bus.space.alerts("H8") and json.loads(msg.data)["labels"].get("pod") == pod

    return match


async def test_a_2mb_event_is_dead_lettered_with_its_reason_within_a_second(
    roomy_nats: ServerProcess, redis_server: ServerProcess, tmp_path: Path
) -> None:
    settings = isolated_settings(roomy_nats.url, f"{redis_server.url}/0", tmp_path)
    runner = ServiceRunner(settings, tmp_path)
    try:
        async with BusClient(settings) as bus:
            await bus.ensure_streams()
            runner.start("detector")
            await runner.wait_running()
            event = json.loads(condition_event("cto/big-1", "OOMKilled", source="poison").model_dump_json())
            event["data"]["message"] = "x" * (2 * MB)
            body = json.dumps(event).encode()
            async with recording(bus, bus.space.all_dlq, bus.space.all_alerts) as seen:
                published = time.monotonic()
                await bus.publish_raw(bus.space.custom_events("poison"), body, {"Nats-Msg-Id": "big-1"})
                letter_msg = await seen.wait_for(lambda m: ".dlq." in m.subject, what="the dead letter")
                took = time.monotonic() - published
                good = condition_event("cto/after-1", "OOMKilled", source="poison")
                await bus.publish_raw(bus.space.custom_events("poison"), good.model_dump_json().encode(), {})
                await seen.wait_for(is_alert_for(bus, "after-1"), what="the next event's alert")

            letter = json.loads(letter_msg.data)
            assert took < POISON_BUDGET_S, f"dead-lettered after {took:.2f}s"
            assert "exceeds limits.message_bytes=1048576" in letter["reason"]
            assert letter["size"] == len(body)
            assert letter["truncated"] is True
            assert len(letter_msg.data) < 100_000, "the copy is an excerpt"
            assert letter["stream_seq"] is not None
            await eventually(lambda: partitions_drained(bus), what="nothing left unacked")
    finally:
        runner.stop_all()


async def test_an_800kb_poison_body_is_dead_lettered_and_delays_the_next_event_under_a_second(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("detector")
    await services.wait_running()
    poison = b'{"specversion": "1.0", "data": "' + b"\x01" * 800_000 + b'"'  # not JSON; \x01 escapes to 6 chars
    good = condition_event("cto/after-2", "OOMKilled", source="poison")
    subject = bus.space.custom_events("poison")
    async with recording(bus, bus.space.all_dlq, bus.space.all_alerts) as seen:
        baseline = time.monotonic()
        await bus.publish_raw(subject, condition_event("cto/warm", "OOMKilled").model_dump_json().encode(), {})
        await seen.wait_for(is_alert_for(bus, "warm"), what="a warm-up alert")
        usual = time.monotonic() - baseline

        await bus.publish_raw(subject, poison, {"Nats-Msg-Id": "poison-800k"})
        sent = time.monotonic()
        await bus.publish_raw(subject, good.model_dump_json().encode(), {"Nats-Msg-Id": good.id})
        await seen.wait_for(is_alert_for(bus, "after-2"), what="the alert after the poison")
        after_poison = time.monotonic() - sent
        letter_msg = await seen.wait_for(lambda m: ".dlq." in m.subject, what="the poison's dead letter")

    letter = json.loads(letter_msg.data)
    assert after_poison - usual < POISON_BUDGET_S, f"next alert after {after_poison:.2f}s (usually {usual:.2f}s)"
    assert "not valid JSON" in letter["reason"]
    assert letter["size"] == len(poison)
    assert len(letter_msg.data) < 1024 * 1024
    assert [json.loads(m.data)["reason"] for m in seen.messages if ".dlq." in m.subject] == [letter["reason"]]
