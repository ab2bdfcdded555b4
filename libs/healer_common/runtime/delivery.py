"""What happens to a consumed message after its handler: ack, retry later, or dead-letter.

One faststream middleware, installed by `bus.Service` on every subscriber, so no handler acks or catches
anything itself. The rules (see errors.py):

    handler returned            -> ack
    InvalidMessage              -> ack once, copy to healer.dlq.<service> with the reason
    Permanent                   -> term, copy to the DLQ
    Retryable(delay) / other    -> nak with delay (exponential for unexpected errors);
                                   on the consumer's last delivery: term and copy to the DLQ

It also writes the one canonical log line per handled message and the handling metrics.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from faststream.middlewares import BaseMiddleware
from faststream.nats.message import NatsMessage

from healer_common.contract.headers import MSG_ID
from healer_common.contract.health import DeadLetter
from healer_common.contract.messages import stable_id
from healer_common.errors import InvalidMessage, Permanent, Retryable
from healer_common.runtime.telemetry import DEAD_LETTERS, HANDLE_SECONDS, MESSAGES, current_trace_id

if TYPE_CHECKING:
    from faststream.message import StreamMessage

    from healer_common.runtime.bus import Service

MAX_BACKOFF_S = 60.0


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
    stream_seq: int | None
    jetstream: bool


def _delivery_of(service: Service, msg: StreamMessage[Any]) -> _Delivery:
    raw = msg.raw_message
    try:
        meta = raw.metadata
    except Exception:  # noqa: BLE001 - core NATS messages (request/reply) have no JetStream metadata
        return _Delivery(raw.subject, 1, None, None, jetstream=False)
    spec = service.consumer_specs.get(meta.consumer or "")
    return _Delivery(raw.subject, meta.num_delivered, spec.max_deliver if spec else None, meta.sequence.stream, True)


def dead_letter_for(service: Service, msg: StreamMessage[Any], delivery: _Delivery, exc: BaseException) -> DeadLetter:
    body: bytes = msg.body
    try:
        payload, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(body).decode(), "base64"
    return DeadLetter(
        event_id=stable_id(service.name, delivery.subject, delivery.stream_seq or msg.message_id),
        service=service.name,
        subject=delivery.subject,
        reason=str(exc) or type(exc).__name__,
        error_type=type(exc).__name__,
        payload=payload,
        payload_encoding=encoding,
        headers={k: str(v) for k, v in (msg.headers or {}).items()},
        deliveries=delivery.deliveries,
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
        started = time.perf_counter()
        outcome, reason, result = "ok", None, None
        try:
            result = await call_next(msg)
        except InvalidMessage as exc:
            outcome, reason = "dead_lettered", str(exc)
            await self._dead_letter(msg, delivery, exc, family)
            await msg.ack()
        except Permanent as exc:
            outcome, reason = "dead_lettered", str(exc)
            await self._dead_letter(msg, delivery, exc, family)
            await msg.reject()
        except Exception as exc:  # noqa: BLE001 - every other failure is retried, then dead-lettered
            outcome, reason = await self._retry_or_give_up(msg, delivery, exc, family)
        else:
            await msg.ack()
        finally:
            elapsed = time.perf_counter() - started
            HANDLE_SECONDS.labels(svc.name, family).observe(elapsed)
            MESSAGES.labels(svc.name, family, outcome).inc()
            svc.counters.processed += 1
            if outcome != "ok":
                svc.counters.failed += 1
            log = svc.log.warning if outcome != "ok" else svc.log.debug if svc.quiet_family(family) else svc.log.info
            log(
                "handled",
                subject=delivery.subject,
                event_id=msg.headers.get(MSG_ID) or msg.message_id,
                deliveries=delivery.deliveries,
                outcome=outcome,
                reason=reason,
                ms=round(elapsed * 1000, 2),
                trace_id=current_trace_id(),
            )
        return result

    async def _retry_or_give_up(
        self, msg: StreamMessage[Any], delivery: _Delivery, exc: Exception, family: str
    ) -> tuple[str, str]:
        last = delivery.max_deliver is not None and delivery.deliveries >= delivery.max_deliver
        if not delivery.jetstream or last:
            await self._dead_letter(msg, delivery, exc, family)
            await msg.reject()
            return "dead_lettered", f"gave up after {delivery.deliveries} deliveries: {exc!r}"
        if isinstance(exc, Retryable):
            delay = exc.delay
        else:
            self._service.log.exception("handler_error", subject=delivery.subject)
            delay = min(MAX_BACKOFF_S, 0.5 * 2 ** (delivery.deliveries - 1))
        if isinstance(msg, NatsMessage):
            await msg.nack(delay=delay)
        else:
            await msg.nack()
        return "retry", f"{exc!r}; retrying in {delay:.1f}s"

    async def _dead_letter(self, msg: StreamMessage[Any], delivery: _Delivery, exc: BaseException, family: str) -> None:
        svc = self._service
        letter = dead_letter_for(svc, msg, delivery, exc)
        await svc.publish(letter)
        svc.counters.dead_lettered += 1
        DEAD_LETTERS.labels(svc.name, family).inc()
        if not delivery.jetstream and msg.reply_to:
            await svc.broker.publish({"error": letter.reason}, msg.reply_to)
