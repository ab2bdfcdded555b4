"""`healer dlq replay`: the operator who fixed the cause of dead letters re-publishes them, chosen by subject, time
and reason, once. Here the cause is a message size limit set too low; the letter holds only an excerpt, so the
replay reads the original back from its stream; a second replay publishes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.testing import ServiceRunner, recording, run_healer

pytestmark = pytest.mark.integration


def big_event(pod: str) -> bytes:
    event = json.loads(condition_event(pod, "OOMKilled", source="replay").model_dump_json())
    event["data"]["message"] = "m" * 4_000
    return json.dumps(event).encode()


def alert_for(bus: BusClient, pod: str) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        return msg.subject == bus.space.alerts("H8") and json.loads(msg.data)["labels"].get("pod") == pod

    return match


async def test_dead_letters_are_replayed_by_subject_and_reason_once(services: ServiceRunner, bus: BusClient) -> None:
    services.configure("limits", message_bytes=2_048, dead_letter_excerpt_bytes=1_024)  # the cause: too low
    services.start("detector")
    await services.wait_running()
    ci, other = bus.space.custom_events("ci"), bus.space.custom_events("other")
    async with recording(bus, bus.space.all_dlq) as dead:
        await bus.publish_raw(ci, big_event("cto/big-1"), {"Nats-Msg-Id": "big-1"})
        await bus.publish_raw(other, b"{not json", {"Nats-Msg-Id": "bad-1"})
        await dead.wait_count(lambda m: True, 2)
    letters = {json.loads(m.data)["subject"]: json.loads(m.data) for m in dead.messages}
    assert letters[ci]["truncated"] is True
    assert "exceeds limits.message_bytes=2048" in letters[ci]["reason"]

    services.stop("detector")
    services.configure("limits", message_bytes=1_048_576, dead_letter_excerpt_bytes=65_536)  # the fix
    services.start("detector")
    await services.wait_running()
    listed = await run_healer(services.config_path, "dlq", "list", "--json")
    assert listed[0] == 0, listed
    assert len(listed[1].splitlines()) == 2

    async with recording(bus, ci, bus.space.all_alerts, bus.space.audit("cli")) as seen:
        code, out, err = await run_healer(
            services.config_path, "dlq", "replay", "--subject", f"{bus.space.root}.events.custom.*", "--reason", "BYTES"
        )
        assert code == 0, out + err
        assert "1 replayed" in out
        await seen.wait_for(alert_for(bus, "big-1"), what="the replayed event's alert")
        audit = await seen.wait_for(lambda m: m.subject == bus.space.audit("cli"), what="the replay's audit record")

        again = await run_healer(services.config_path, "dlq", "replay", "--reason", "bytes")
        assert again[0] == 0, again
        assert "1 already replayed" in again[1]
        await bus.publish_raw(ci, condition_event("cto/control", "OOMKilled").model_dump_json().encode(), {})
        await seen.wait_for(alert_for(bus, "control"), what="the control event's alert")

    published_on_ci = [m for m in seen.messages if m.subject == ci]
    assert len(published_on_ci) == 2, "the replay once, then only the control event"
    assert json.loads(published_on_ci[0].data)["data"]["resource"]["name"] == "big-1"
    assert published_on_ci[0].headers["Healer-Replay-Of"] == letters[ci]["event_id"]
    record = json.loads(audit.data)
    assert (record["action"], record["decision"], record["target"]) == ("dlq_replay", "replayed", ci)
