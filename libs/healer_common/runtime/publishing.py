"""Publishing to JetStream through a NATS outage, one message or many at once (the service runner's
`publish`, `publish_raw` and `publish_many` in bus.py).

A publish that fails because NATS is unreachable is retried with backoff for PUBLISH_DEADLINE_S, then
raises Unreachable, so the handler's input waits the outage out instead of being lost. `publish_many` sends
straight on nats-py, all at once: a message costs its encoding and its ack (about 80 µs of CPU here), where the
broker's middleware stack costs 200 µs more; what a storm publishes (ten thousand alerts, a thousand incident
revisions and their audit records) goes out in a fraction of the time. Messages sharing a key (by default
their `correlation_id`: an alert's fingerprint, an incident's id) are still published one after another, in
the order given; the W3C trace context of the current span travels in every message's headers.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from healer_common.contract.messages import Message
from healer_common.contract.subjects import subject_for
from healer_common.errors import Permanent, Unreachable
from healer_common.runtime import metrics
from healer_common.runtime.failures import classify, closed_for_good
from healer_common.runtime.jetstream import NATS_DOWN
from healer_common.runtime.telemetry import PUBLISHED, carrying_trace
from healer_common.runtime.wire import on_the_wire

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service

PUBLISH_DEADLINE_S = 30.0
CHUNK = 500
M = TypeVar("M", bound=Message)
T = TypeVar("T")


async def with_retry(svc: Service, subject: str, send: Callable[[], Awaitable[Any]]) -> None:
    """`send` until it succeeds, retrying through a NATS outage (and after a PubAck that cannot be read: the
    `Nats-Msg-Id` makes a second copy of a stored message a duplicate JetStream drops). Permanent for a refusal
    retrying cannot change; Unreachable once NATS stayed away past PUBLISH_DEADLINE_S."""
    deadline = time.monotonic() + PUBLISH_DEADLINE_S
    delay = 0.2
    while True:
        try:
            await send()
        except (*NATS_DOWN, json.JSONDecodeError) as exc:
            if classify(exc).kind == "permanent":
                raise Permanent(f"NATS refused the publish to {subject[:120]}: {exc!r}") from exc
            if closed_for_good(exc) or time.monotonic() > deadline:
                raise Unreachable(f"could not publish to {subject[:120]}: {exc!r}", server="NATS") from exc
            svc.log.warning("publish_retry", subject=subject[:256], error=repr(exc), retry_in_s=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        else:
            PUBLISHED.labels(svc.name, svc.space.family(subject)).inc()
            return


def _key(message: Message) -> str:
    return message.correlation_id or message.event_id


def waves(messages: Sequence[T], key: Callable[[T], str] = _key) -> list[list[T]]:  # type: ignore[assignment]
    """Messages in waves that may be handled at once: the n-th message of each key in the n-th wave."""
    found: list[list[T]] = []
    seen: dict[str, int] = {}
    for message in messages:
        n = seen.get(key(message), 0)
        seen[key(message)] = n + 1
        if n == len(found):
            found.append([])
        found[n].append(message)
    return found


async def publish_many(svc: Service, messages: Sequence[Message], key: Callable[[Message], str] = _key) -> None:
    """Publish every message, concurrently but in order per key; Retryable if NATS stays unreachable. One
    producing span for the lot, as faststream makes one per publish: what a consumer's span hangs from."""
    if not messages:
        return
    trace = carrying_trace(svc.space.family(subject_for(svc.space, messages[0])), {})

    async def one(message: Message) -> None:
        body, wire_headers = on_the_wire(message, svc.settings.alerts)
        await _send(svc, subject_for(svc.space, message), body, {**trace, **wire_headers})
        metrics.published(message)

    await _in_waves(messages, key, one)


async def publish_raw_many(svc: Service, items: Sequence[tuple[str, str, bytes, dict[str, str]]]) -> None:
    """`publish_raw` for many (key, subject, body, headers), straight on nats-py as `publish_many` is:
    concurrently, but in order for items sharing a key. The caller has checked each body against max_payload."""

    async def one(item: tuple[str, str, bytes, dict[str, str]]) -> None:
        _, subject, body, headers = item
        await _send(svc, subject, body, headers)

    await _in_waves(items, lambda item: item[0], one)


async def _send(svc: Service, subject: str, body: bytes, headers: dict[str, str]) -> None:
    sent = {"content-type": "application/json", **headers}
    js = svc._jetstream()
    await with_retry(svc, subject, lambda: js.publish(subject, body, timeout=5.0, headers=sent))


async def _in_waves(items: Sequence[T], key: Callable[[T], str], send: Callable[[T], Awaitable[None]]) -> None:
    for wave in waves(items, key):
        for start in range(0, len(wave), CHUNK):
            await asyncio.gather(*(send(item) for item in wave[start : start + CHUNK]))
