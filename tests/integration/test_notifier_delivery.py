"""Delivery that holds up, at the dispatcher, with its sent-log in a real Redis: a receiver's Retry-After is
waited out and the notification delivered once; a channel that keeps failing has its circuit opened while the
others go on; a refusal is given up and put on record; a long wait is left to JetStream's redelivery.
"""

from __future__ import annotations

from typing import Any

import pytest
import structlog
from redis.asyncio import Redis

from healer_common.clock import ManualClock
from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from healer_common.runtime.state import KeySpace
from healer_common.settings import Settings
from healer_common.settings.notifier import DeliveryPolicy
from services.notifier.adapters.dispatch import Dispatcher
from services.notifier.adapters.sent_log import SentLog
from services.notifier.render import for_incident
from tests.support.samples import incident

pytestmark = pytest.mark.integration
Outcome = Exception | None


class ScriptedReceiver:
    """A channel whose receiver answers from a script (then accepts); it counts what reached it."""

    def __init__(self, name: str, *script: Outcome, forever: Outcome = None) -> None:
        self.name = name
        self.script = list(script)
        self.forever = forever
        self.received: list[str] = []

    def wants(self, notification: Notification) -> bool:
        return True

    async def send(self, notification: Notification) -> None:
        self.received.append(notification.notification_id)
        outcome = self.script.pop(0) if self.script else self.forever
        if outcome is not None:
            raise outcome


class Record:
    def __init__(self) -> None:
        self.audits: list[dict[str, Any]] = []
        self.waits: list[float] = []

    async def audit(self, action: str, decision: str, **fields: Any) -> None:
        self.audits.append({"action": action, "decision": decision, **fields})

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def dispatcher(
    redis: Redis, settings: Settings, record: Record, *channels: ScriptedReceiver, clock: ManualClock | None = None,
    **policy: Any,
) -> Dispatcher:  # fmt: skip
    return Dispatcher(
        list(channels), SentLog(redis, KeySpace(settings.redis.key_prefix)),
        policy=DeliveryPolicy(**{"backoff_s": 0.5, "backoff_max_s": 8.0, **policy}), clock=clock or ManualClock(),
        audit=record.audit, log=structlog.get_logger(), sleep=record.sleep, rand=lambda: 0.5,
    )  # fmt: skip


def note(revision: int = 1) -> Notification:
    return for_incident(incident(revision=revision))


async def test_a_rate_limited_channel_waits_for_retry_after_and_delivers_once(
    redis: Redis, healer_settings: Settings
) -> None:
    record = Record()
    slack = ScriptedReceiver("slack", Retryable("slack answered HTTP 429", delay=3.0))
    send = dispatcher(redis, healer_settings, record, slack)

    assert await send.deliver(note()) == ["slack"]
    assert await send.deliver(note()) == ["slack"], "redelivered: already sent"

    assert record.waits == [3.0], "waited what the receiver asked, not the 0.25 s backoff"
    assert len(slack.received) == 2, "the refused try and the accepted one; nothing after"
    assert [(a["decision"], a["target"]) for a in record.audits] == [("delivered", "slack")]


async def test_a_channel_that_keeps_failing_has_its_circuit_opened_while_the_others_deliver(
    redis: Redis, healer_settings: Settings
) -> None:
    record, clock = Record(), ManualClock()
    down = ScriptedReceiver("pagerduty", forever=Retryable("pagerduty answered HTTP 503", delay=0.0))
    fine = ScriptedReceiver("slack")
    send = dispatcher(redis, healer_settings, record, down, fine, clock=clock, attempts=1, breaker_failures=2)

    for revision in (1, 2):
        with pytest.raises(Retryable, match="HTTP 503"):
            await send.deliver(note(revision))
    with pytest.raises(Retryable, match="circuit open") as refused:
        await send.deliver(note(3))

    assert len(down.received) == 2, "the open circuit kept the third call from going out"
    assert refused.value.delay == 30.0, "retry when the circuit lets a trial through"
    assert len(fine.received) == 3, "the healthy channel got every notification"
    down.forever = None
    clock.advance(30)
    assert await send.deliver(note(4)) == ["pagerduty", "slack"], "the trial went through and closed the circuit"


async def test_a_refusal_is_given_up_at_once_and_put_on_record(redis: Redis, healer_settings: Settings) -> None:
    record = Record()
    github = ScriptedReceiver("github", Permanent("github refused the notification: HTTP 422"))
    send = dispatcher(redis, healer_settings, record, github)

    assert await send.deliver(note()) == []
    assert await send.deliver(note()) == [], "not tried again after a redelivery"

    assert len(github.received) == 1
    assert record.waits == []
    assert [(a["decision"], a["reason"]) for a in record.audits] == [
        ("failed", "github refused the notification: HTTP 422")
    ]


async def test_a_wait_longer_than_the_policy_allows_is_left_to_a_jetstream_redelivery(
    redis: Redis, healer_settings: Settings
) -> None:
    record = Record()
    slack = ScriptedReceiver("slack", Retryable("slack answered HTTP 429", delay=120.0))
    send = dispatcher(redis, healer_settings, record, slack, max_wait_s=20.0)

    with pytest.raises(Retryable) as later:
        await send.deliver(note())

    assert later.value.delay == 120.0
    assert record.waits == [], "the handler did not sit on the message for two minutes"
    assert await send.deliver(note()) == ["slack"], "the redelivery delivers"
