"""What happens to a consumed message after its handler: ack, wait out an outage, retry later, or dead-letter.

One faststream middleware, installed by `bus.Service` on every subscriber, so no handler acks or catches
anything itself. What a failure means is decided by failures.py:

    handler returned          -> ack
    over limits.message_bytes -> term, dead-letter a bounded excerpt with the size (never decoded)
    invalid                   -> ack once, dead-letter with the reason
    permanent                 -> term, dead-letter
    outage                    -> nak with backoff (bus.outage_retry_max_s at most); not counted against the
                                 message, so an outage of minutes loses nothing; after bus.max_deliveries
                                 deliveries in all it is dead-lettered whatever the cause
    retry                     -> nak with delay; after the consumer's max_deliver failures: term, dead-letter

A dead letter that cannot be published is not claimed: the message is nak'ed for later instead, and the log
line says so. The log line's `outcome` is always what happened (ok, dead_lettered, outage_retry, retry,
dead_letter_failed), with the consumer's delivery count and the reason. Request/reply messages (core NATS,
no JetStream) get an error reply instead of a retry.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faststream.middlewares import BaseMiddleware
from faststream.nats.message import NatsMessage

from healer_common.contract.headers import MSG_ID
from healer_common.contract.messages import stable_id
from healer_common.errors import TooLarge
from healer_common.runtime.dead_letters import Original, bounded_letter
from healer_common.runtime.failures import Verdict, classify, failure_delay, outage_delay
from healer_common.runtime.telemetry import (
    DEAD_LETTERS,
    HANDLE_SECONDS,
    MESSAGES,
    OUTAGE_RETRIES,
    current_trace_id,
)

if TYPE_CHECKING:
    from faststream.message import StreamMessage

    from healer_common.runtime.bus import Service


@dataclass
class DeliveryCounters:
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0


@dataclass(frozen=True)
class _Delivery:
    subject: str
    deliveries: int
    max_deliver: int | None
    consumer: str | None
    stream: str | None
    stream_seq: int | None
    jetstream: bool

    @property
    def key(self) -> tuple[str, int] | None:
        return (self.consumer, self.stream_seq) if self.consumer and self.stream_seq is not None else None


def _delivery_of(service: Service, msg: StreamMessage[Any]) -> _Delivery:
    raw = msg.raw_message
    try:
        meta = raw.metadata
    except Exception:  # noqa: BLE001 - core NATS messages (request/reply) have no JetStream metadata
        return _Delivery(raw.subject, 1, None, None, None, None, jetstream=False)
    spec = service.consumer_specs.get(meta.consumer or "")
    return _Delivery(
        raw.subject,
        meta.num_delivered,
        spec.max_deliver if spec else None,
        meta.consumer,
        meta.stream,
        meta.sequence.stream,
        jetstream=True,
    )


class DeliveryGuard:
    """A faststream middleware factory bound to one service."""

    def __init__(self, service: Service) -> None:
        self._service = service

    def __call__(self, msg: Any, /, *, context: Any) -> _Guard:
        return _Guard(msg, context=context, service=self._service)


class _Guard(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: Any, service: Service) -> None:
        super().__init__(msg, context=context)
        self._service = service

    async def consume_scope(self, call_next: Any, msg: StreamMessage[Any]) -> Any:
        svc = self._service
        delivery = _delivery_of(svc, msg)
        family = svc.space.family(delivery.subject)
        token = svc.watchdog.begin(delivery.consumer, delivery.subject)
        started = time.perf_counter()
        outcome, reason, result = "ok", None, None
        try:
            self._check_size(msg)
            result = await call_next(msg)
        except Exception as exc:  # noqa: BLE001 - every failure is settled here, by what it means
            outcome, reason = await self._settle(msg, delivery, exc, family)
        else:
            svc.watchdog.settled(delivery.key)
            if not await self._answer(msg, "ack"):
                outcome, reason = "ack_failed", "NATS did not take the ack; the message will come again"
        finally:
            svc.watchdog.end(token)
            self._account(msg, delivery, family, outcome=outcome, reason=reason, took=time.perf_counter() - started)
        return result

    def _check_size(self, msg: StreamMessage[Any]) -> None:
        limit = self._service.settings.limits.message_bytes
        size = len(msg.body)
        if size > limit:
            raise TooLarge(f"message of {size} bytes exceeds limits.message_bytes={limit}", size=size, limit=limit)

    def _account(
        self,
        msg: StreamMessage[Any],
        delivery: _Delivery,
        family: str,
        *,
        outcome: str,
        reason: str | None,
        took: float,
    ) -> None:
        svc = self._service
        HANDLE_SECONDS.labels(svc.name, family).observe(took)
        MESSAGES.labels(svc.name, family, outcome).inc()
        svc.counters.processed += 1
        if outcome != "ok":
            svc.counters.failed += 1
        log = svc.log.warning if outcome != "ok" else svc.log.debug if svc.quiet_family(family) else svc.log.info
        log(
            "handled",
            subject=delivery.subject[:256],
            event_id=(msg.headers.get(MSG_ID) or msg.message_id)[:128],
            deliveries=delivery.deliveries,
            outcome=outcome,
            reason=reason[:1_024] if reason else None,
            ms=round(took * 1000, 2),
            trace_id=current_trace_id(),
        )

    async def _settle(
        self, msg: StreamMessage[Any], delivery: _Delivery, exc: Exception, family: str
    ) -> tuple[str, str]:
        verdict = classify(exc)
        svc = self._service
        exhausted = delivery.deliveries >= svc.settings.bus.max_deliveries
        if verdict.kind == "outage" and delivery.jetstream and not exhausted:
            return await self._wait_out(msg, delivery, exc, verdict, family)
        if verdict.kind == "retry" and delivery.jetstream and not exhausted:
            failures = svc.watchdog.failed(delivery.key)
            if delivery.max_deliver is None or failures < delivery.max_deliver:
                return await self._retry(msg, delivery, exc, verdict, failures)
        if verdict.kind == "outage" and not delivery.jetstream:
            await self._reply_error(msg, f"try again: {exc}")
            return "outage_retry", f"{exc!r}; the requester was told to try again"
        return await self._dead_letter(msg, delivery, exc, verdict, family)

    async def _wait_out(
        self, msg: StreamMessage[Any], delivery: _Delivery, exc: Exception, verdict: Verdict, family: str
    ) -> tuple[str, str]:
        svc = self._service
        delay = outage_delay(delivery.deliveries, svc.settings.bus.outage_retry_max_s)
        OUTAGE_RETRIES.labels(svc.name, family, verdict.dependency or "unknown").inc()
        await self._answer(msg, "nack", delay)
        return "outage_retry", f"{verdict.dependency} unavailable ({exc!r}); waiting {delay:.1f}s, not counted"

    async def _retry(
        self, msg: StreamMessage[Any], delivery: _Delivery, exc: Exception, verdict: Verdict, failures: int
    ) -> tuple[str, str]:
        if verdict.delay is None:
            self._service.log.exception("handler_error", subject=delivery.subject[:256])
        delay = verdict.delay if verdict.delay is not None else failure_delay(failures)
        await self._answer(msg, "nack", delay)
        return "retry", f"{exc!r}; failure {failures} of {delivery.max_deliver}, retrying in {delay:.1f}s"

    async def _dead_letter(
        self, msg: StreamMessage[Any], delivery: _Delivery, exc: Exception, verdict: Verdict, family: str
    ) -> tuple[str, str]:
        svc = self._service
        original = Original(
            event_id=stable_id(svc.name, delivery.subject, delivery.stream_seq or msg.message_id),
            service=svc.name,
            subject=delivery.subject,
            body=msg.body,
            headers={k: str(v) for k, v in (msg.headers or {}).items()},
            deliveries=delivery.deliveries,
            stream=delivery.stream,
            stream_seq=delivery.stream_seq,
        )
        letter = bounded_letter(
            original, exc, excerpt_bytes=svc.settings.limits.dead_letter_excerpt_bytes, max_bytes=svc.max_payload()
        )
        try:
            await svc.publish(letter)
        except Exception as failure:  # noqa: BLE001 - not claimed as dead-lettered; the message comes again
            delay = outage_delay(delivery.deliveries, svc.settings.bus.outage_retry_max_s)
            await self._answer(msg, "nack", delay)
            return "dead_letter_failed", f"{exc!r}; its dead letter could not be published ({failure!r})"
        svc.watchdog.settled(delivery.key)
        svc.counters.dead_lettered += 1
        DEAD_LETTERS.labels(svc.name, family).inc()
        await self._answer(msg, "ack" if verdict.kind == "invalid" else "reject")
        await self._reply_error(msg, letter.reason)
        gave_up = f" after {delivery.deliveries} deliveries" if verdict.kind in ("retry", "outage") else ""
        return "dead_lettered", f"{letter.reason}{gave_up}"

    async def _reply_error(self, msg: StreamMessage[Any], reason: str) -> None:
        if msg.reply_to and not msg.reply_to.startswith("$JS."):
            try:
                await self._service.broker.publish({"error": reason[:4_096]}, msg.reply_to)
            except Exception:  # noqa: BLE001 - the requester times out instead
                self._service.log.warning("error_reply_failed", reply_to=msg.reply_to)

    async def _answer(self, msg: StreamMessage[Any], verb: str, delay: float | None = None) -> bool:
        """Ack, nak or term; False when NATS did not take it (the message is then redelivered after ack_wait)."""
        try:
            if verb == "ack":
                await msg.ack()
            elif verb == "reject":
                await msg.reject()
            elif isinstance(msg, NatsMessage):
                await msg.nack(delay=delay)
            else:
                await msg.nack()
        except Exception as exc:  # noqa: BLE001 - NATS down: JetStream redelivers after ack_wait
            self._service.log.warning("settle_failed", verb=verb, error=repr(exc))
            return False
        return True
