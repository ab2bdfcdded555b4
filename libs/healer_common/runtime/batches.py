"""Batch consumers: a handler that takes every message that has arrived (up to `max_batch`) at once.

For inputs that come in storms and whose handling costs a round trip whatever its size: the correlator folds a
batch of alerts into its incidents with a few Redis round trips, where one alert at a time would pay them per
alert. Registered on the service runner (bus.py):

    @svc.consume_batch(streams.CORRELATOR_ALERTS, max_batch=1000)
    async def on_alerts(alerts: list[Alert]) -> None: ...

It pulls from the same durable consumer `consume` would (replicas share it), straight from nats-py: a message
costs its decoding and its ack, not a middleware stack. The rules are delivery.py's, per message:

    the handler returned            -> every message of the batch is acked
    a message that fails its model  -> acked once and copied to healer.dlq.<service>; the others go on
    the handler raised Retryable    -> the batch is nak'ed with its delay (a dependency is down, a lease held)
    the handler raised otherwise    -> each message is handled again on its own, so one bad message cannot
                                       hold up the others; one that fails alone is nak'ed with backoff and
                                       dead-lettered on its last delivery

While a batch is in hand its messages are marked in progress every third of the consumer's ack_wait, so a
batch that runs long is not redelivered under its handler.

Messages are handed over in stream order and batches one after another, so what one publisher said in order
is handled in order, as `consume(order_by=...)` promises. One canonical log line per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy

from healer_common.contract.cloudevent_modes import decode_delivered
from healer_common.contract.messages import stable_id
from healer_common.contract.streams import ConsumerSpec
from healer_common.contract.subjects import model_for
from healer_common.errors import InvalidMessage, Retryable
from healer_common.runtime.dead_letters import Original, bounded_letter
from healer_common.runtime.failures import classify, failure_delay, outage_delay
from healer_common.runtime.pause import pause
from healer_common.runtime.telemetry import DEAD_LETTERS, HANDLE_SECONDS, MESSAGES, consuming_batch

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service

BatchHandler = Callable[[list[Any]], Awaitable[None]]
FETCH_WAIT_S = 1.0
FINISH_S = 10.0


@dataclass
class Backlog:
    """How many messages were still waiting behind the consumer's last batch (JetStream's `num_pending` of its
    last message; 0 after a fetch that found nothing): a handler that is behind can hold back what it would
    otherwise send before it has seen them (the correlator holds an incident's next revision)."""

    waiting: int = 0


@dataclass(frozen=True)
class BatchConsumer:
    spec: ConsumerSpec
    handler: BatchHandler
    max_batch: int
    max_deliveries: int  # NATS's own limit (bus.max_deliveries): outages are not counted against spec.max_deliver
    backlog: Backlog | None = None
    linger_s: float = 0.0
    """After a batch that left nothing behind, wait this long before the next: for a handler whose work is not
    urgent, so a burst reaches it in full batches after the urgent work, not message by message beside it."""

    def config(self, subject: str) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subject=subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=self.spec.ack_wait_s,
            max_deliver=self.max_deliveries,
            max_ack_pending=max(1_000, self.max_batch * 4),
        )


class BatchLoop:
    """Pulls and handles one consumer's batches until the service stops; the current batch is finished first."""

    def __init__(self, svc: Service, consumer: BatchConsumer) -> None:
        self._svc = svc
        self._consumer = consumer
        self._subject = consumer.spec.subject(svc.space)
        self._stream = consumer.spec.stream.name(svc.space)
        self._family = svc.space.family(self._subject)

    async def run(self, stopping: asyncio.Event) -> None:
        """Serve until the service stops; a failure outside the handler (a consumer that could not be bound)
        is logged and the loop starts over, so the consumer never silently stops."""
        while not stopping.is_set():
            try:
                await self._serve(stopping)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._svc.log.exception("batch_loop_failed", subject=self._subject)
                await asyncio.sleep(FETCH_WAIT_S)

    async def _serve(self, stopping: asyncio.Event) -> None:
        js = self._svc._jetstream()
        await js.add_consumer(self._stream, self._consumer.config(self._subject))
        sub = await js.pull_subscribe_bind(durable=self._consumer.spec.durable, stream=self._stream)
        try:
            while not stopping.is_set():
                try:
                    msgs = await sub.fetch(self._consumer.max_batch, timeout=FETCH_WAIT_S)
                except (TimeoutError, nats.errors.TimeoutError):
                    self._note_backlog([])
                    continue
                except nats.errors.Error as exc:  # a reconnect in progress: the next fetch tries again
                    self._svc.log.warning("batch_fetch_failed", subject=self._subject, error=repr(exc))
                    await asyncio.sleep(FETCH_WAIT_S)
                    continue
                if msgs:
                    self._note_backlog(msgs)
                    await self.handle(msgs)
                if self._consumer.linger_s and len(msgs) < self._consumer.max_batch:
                    await pause(self._consumer.linger_s, unless=stopping)
        finally:
            try:
                await sub.unsubscribe()
            except (nats.errors.Error, OSError, TimeoutError) as exc:
                self._svc.log.debug("batch_unsubscribe_failed", subject=self._subject, error=repr(exc))

    def _note_backlog(self, msgs: list[Msg]) -> None:
        """What JetStream says waits behind the last message fetched (none when the fetch found nothing)."""
        if self._consumer.backlog is not None:
            self._consumer.backlog.waiting = msgs[-1].metadata.num_pending if msgs else 0

    async def handle(self, msgs: list[Msg]) -> None:
        started = time.perf_counter()
        decoded: list[tuple[Msg, Any]] = []
        for msg in msgs:
            try:
                model = model_for(self._svc.space, msg.subject)
                decoded.append((msg, decode_delivered(model, msg.headers or {}, msg.data)))
            except InvalidMessage as exc:
                await self._dead_letter(msg, exc)
                await msg.ack()
        outcomes = {"ok": 0, "retry": 0, "dead_lettered": len(msgs) - len(decoded)}
        if decoded:
            async with self._in_progress([msg for msg, _ in decoded]):
                await self._run(decoded, outcomes)
        self._record(len(msgs), outcomes, time.perf_counter() - started)

    @contextlib.asynccontextmanager
    async def _in_progress(self, msgs: list[Msg]) -> AsyncIterator[None]:
        reminding = asyncio.create_task(self._remind(msgs))
        try:
            yield
        finally:
            reminding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reminding

    async def _remind(self, msgs: list[Msg]) -> None:
        """Tell JetStream the batch is still being handled, every third of its ack_wait: a batch slowed past
        ack_wait (a starved CPU, a long wait for a lease) would otherwise be redelivered while in hand, and a
        message redelivered max_deliver times that way is dropped without the handler ever seeing it fail."""
        while True:
            await asyncio.sleep(self._consumer.spec.ack_wait_s / 3)
            await asyncio.gather(*(msg.in_progress() for msg in msgs), return_exceptions=True)

    async def _run(self, decoded: list[tuple[Msg, Any]], outcomes: dict[str, int]) -> None:
        try:
            with consuming_batch(self._family, [msg.headers or {} for msg, _ in decoded]):
                await self._consumer.handler([item for _, item in decoded])
        except Retryable as exc:  # an outage or a held lease: the whole batch waits, nothing is wrong with it
            for msg, _ in decoded:
                outcomes[await self._failed(msg, exc)] += 1
            return
        except Exception as exc:  # noqa: BLE001 - each message is then tried alone, see the module's rules
            if len(decoded) == 1:
                outcomes[await self._failed(decoded[0][0], exc)] += 1
                return
            self._svc.log.warning("batch_failed", subject=self._subject, size=len(decoded), error=repr(exc))
            for msg, item in decoded:
                try:
                    await self._consumer.handler([item])
                except Exception as alone:  # noqa: BLE001 - retried or dead-lettered per message
                    outcomes[await self._failed(msg, alone)] += 1
                else:
                    await msg.ack()
                    outcomes["ok"] += 1
            return
        for msg, _ in decoded:
            await msg.ack()
        outcomes["ok"] += len(decoded)

    async def _failed(self, msg: Msg, exc: Exception) -> str:
        """Nak with backoff (an outage's not counted against max_deliver, as delivery.py does), or dead-letter a
        message that cannot succeed or had its last delivery."""
        deliveries = msg.metadata.num_delivered
        verdict = classify(exc)
        limit = self._consumer.max_deliveries if verdict.kind == "outage" else self._consumer.spec.max_deliver
        if verdict.kind in {"invalid", "permanent"} or deliveries >= limit:
            await self._dead_letter(msg, exc)
            await msg.term()
            return "dead_lettered"
        if verdict.kind == "outage":
            delay = outage_delay(deliveries, self._svc.settings.bus.outage_retry_max_s)
        elif verdict.delay is not None:
            delay = verdict.delay
        else:
            self._svc.log.error("handler_error", subject=msg.subject, error=repr(exc), exc_info=exc)
            delay = failure_delay(deliveries)
        await msg.nak(delay=delay)
        return "retry"

    async def _dead_letter(self, msg: Msg, exc: BaseException) -> None:
        svc = self._svc
        meta = msg.metadata
        original = Original(
            event_id=stable_id(svc.name, msg.subject, meta.sequence.stream),
            service=svc.name,
            subject=msg.subject,
            body=msg.data,
            headers={k: str(v) for k, v in (msg.headers or {}).items()},
            deliveries=meta.num_delivered,
            stream=meta.stream,
            stream_seq=meta.sequence.stream,
        )
        limits = svc.settings.limits
        await svc.publish(
            bounded_letter(original, exc, excerpt_bytes=limits.dead_letter_excerpt_bytes, max_bytes=svc.max_payload())
        )
        svc.counters.dead_lettered += 1
        DEAD_LETTERS.labels(svc.name, self._family).inc()

    def _record(self, size: int, outcomes: dict[str, int], elapsed: float) -> None:
        svc = self._svc
        HANDLE_SECONDS.labels(svc.name, self._family).observe(elapsed)
        for outcome, count in outcomes.items():
            if count:
                MESSAGES.labels(svc.name, self._family, outcome).inc(count)
        svc.counters.processed += size
        svc.counters.failed += size - outcomes["ok"]
        log = svc.log.info if outcomes["ok"] == size else svc.log.warning
        log("handled_batch", subject=self._subject, size=size, ms=round(elapsed * 1000, 2), **outcomes)


class BatchLoops:
    """The service's batch consumers: started with it, and at its stop given FINISH_S to finish the batch in
    hand (the loops watch the stop flag) before one that hangs is cancelled."""

    def __init__(self) -> None:
        self.consumers: list[BatchConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, svc: Service, stopping: asyncio.Event) -> None:
        self._tasks = [asyncio.create_task(BatchLoop(svc, c).run(stopping)) for c in self.consumers]

    async def finish(self) -> None:
        if not self._tasks:
            return
        _, hanging = await asyncio.wait(self._tasks, timeout=FINISH_S)
        for task in hanging:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def each_tried(steps: Iterable[Awaitable[Any]]) -> None:
    """Await every step side by side, then raise the first failure, if any: a batch handler's rule (see above), so
    that one failure does not leave the rest of a batch untried before the loop hands each message over alone."""
    outcomes = await asyncio.gather(*steps, return_exceptions=True)
    if failed := next((o for o in outcomes if isinstance(o, BaseException)), None):
        raise failed
