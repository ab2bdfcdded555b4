"""One partition of a stream, served by the replica that holds its lease: state and stream position resumed
from a checkpoint, every message of the partition handled in stream order, the state saved again as it goes.

partitioned.py decides which replica serves which partition; this module serves one. Its state is whatever the
service keeps about the partition (the detector's series, baselines and log templates), as `PartWork`:

    build(part, checkpoint state or None, term) -> PartWork    resume (or start cold)
    work.handle(items) -> published?                           a batch of decoded messages, in stream order
    work.tick() -> published?                                  the timer (held conditions, stale series)
    work.snapshot() -> bytes                                   the state to save

The stream position lives in the checkpoint, not in a durable consumer: the serving replica reads through an
in-memory consumer (one replica, no acks) starting right after the checkpoint's sequence, and makes it again
where it left off if NATS loses it (a node killed) or it handed out messages that never arrived (a connection
dropped as a slow consumer): the cursor takes no acks, so NATS counts what it pushed into a lost pull as
delivered. Its delivery count (the consumer sequence) says so: a batch whose first message is not the one after
the last handled, or an idle cursor that handed out more than was handled, opens the cursor again after the last
message handled. A replica taking the partition over loads the checkpoint and replays what came after it, so
its state is what the last one's would have been; what the replay publishes again carries the same ids (derived
from the input) and is dropped by the stream's duplicate window.
A checkpoint is saved every `scale.checkpoint_s`, soon after anything was published (so a replay republishes
little), and when the partition is handed over gracefully; only while the partition's lease holds this
replica's token (fenced), so a stalled replica that wakes up can neither publish (its term has ended) nor
overwrite its successor's checkpoint.

A message that is not valid is dead-lettered and passed over; a failure while handling (Redis or NATS away)
drops the in-memory state and starts again from the checkpoint, so no half-handled batch is counted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from healer_common.contract.cloudevent_modes import decode_delivered
from healer_common.contract.events import AlertmanagerWebhook
from healer_common.contract.limits import webhook_problems
from healer_common.contract.messages import stable_id
from healer_common.contract.subjects import model_for
from healer_common.errors import InvalidMessage, Retryable
from healer_common.runtime.dead_letters import Original, bounded_letter
from healer_common.runtime.jetstream import NATS_DOWN
from healer_common.runtime.leadership import LeaseLost, Leases, Term
from healer_common.runtime.metrics import CONSUMER_LAG
from healer_common.runtime.pause import pause
from healer_common.runtime.state import KeySpace
from healer_common.runtime.telemetry import DEAD_LETTERS, HANDLE_SECONDS, MESSAGES

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service

FETCH_BATCH = 64
SOON_S = 5.0
"""After a publication, the checkpoint is saved once this long has passed since the last one: what a takeover
replays stays well inside the streams' two-minute duplicate window (a replayed alert is dropped as one). Each
second, a storm's twelve partitions each pickled their engines: a tenth of the detector's CPU."""
IDLE_CHECK_S = 5.0  # an idle cursor is checked this often (NATS may have lost it with a node)
CURSOR_IDLE_S = 60.0  # NATS removes a cursor nobody reads for this long
RESTART_S = (0.5, 10.0)  # backoff between restarts from the checkpoint


@dataclass(frozen=True)
class Delivered:
    """One message of the partition, decoded: its stream sequence, subject and model; its subject family and
    headers, for the span it is handled in (telemetry.consuming)."""

    seq: int
    subject: str
    item: Any
    family: str = "events"
    headers: Mapping[str, str] = field(default_factory=dict)


class PartWork(Protocol):
    async def handle(self, items: list[Delivered]) -> bool: ...
    async def tick(self) -> bool: ...
    def snapshot(self) -> bytes: ...


Build = Callable[[str, bytes | None, Term], Awaitable[PartWork]]


class Checkpoints:
    """`<prefix>:<group>:checkpoint:<part>`: a hash of seq, state (bytes), token and saved_at, in Redis."""

    def __init__(self, redis: Redis, keys: KeySpace, group: str, leases: Leases) -> None:
        self._redis = redis  # a client that keeps bytes as bytes
        self._keys = keys
        self._group = group
        self._leases = leases

    def key(self, part: str) -> str:
        return self._keys(self._group, "checkpoint", part)

    async def load(self, part: str) -> tuple[int, bytes | None]:
        seq, state = await self._redis.hmget(self.key(part), ["seq", "state"])
        if seq is None or not isinstance(state, bytes):
            return 0, None
        return int(seq), state

    async def save(self, term: Term, part: str, seq: int, state: bytes) -> None:
        fields = ("HSET", self.key(part), "seq", seq, "state", state, "token", term.token, "saved_at", time.time())
        await self._leases.fenced(term, [fields], redis=self._redis)


class PartWorker:
    """Serves one partition for one term of its lease, until the term ends or it is asked to hand over."""

    def __init__(
        self, svc: Service, *, stream: str, part: str, subject: str, term: Term, build: Build,
        checkpoints: Checkpoints, tick_s: float,
    ) -> None:  # fmt: skip
        self.svc = svc
        self.part = part
        self.term = term
        self._stream = stream
        self._subject = subject
        self._build = build
        self._checkpoints = checkpoints
        self._tick_s = tick_s
        self._handover = asyncio.Event()
        self.seq = 0
        self._handled = 0  # messages handled from the current cursor
        self.cursor = f"{svc.name}-{part}-{term.token}"
        self._log = svc.log.bind(partition=part, fence=term.token)
        self._family = svc.space.family(subject)

    def hand_over(self) -> None:
        """Finish the batch in hand, save a checkpoint and stop (the lease is then released by the owner)."""
        self._handover.set()

    @property
    def serving(self) -> bool:
        return self.term.valid() and not self._handover.is_set()

    async def run(self) -> None:
        delay = RESTART_S[0]
        while self.serving:
            try:
                await self._serve()
            except asyncio.CancelledError:
                raise
            except LeaseLost:
                break
            except (Retryable, RedisError, *NATS_DOWN) as exc:
                self._log.warning("partition_restarting", error=repr(exc), restart_in_s=delay)
            except Exception:  # noqa: BLE001 - a bug in the work must not end the partition: restart from checkpoint
                self._log.exception("partition_failed", restart_in_s=delay)
            else:
                delay = RESTART_S[0]
                continue
            await pause(delay, unless=self._handover)
            delay = min(delay * 2, RESTART_S[1])
        await self._drop_cursor()

    async def _serve(self) -> None:
        self.seq, state = await self._checkpoints.load(self.part)
        work = await self._build(self.part, state, self.term)
        self._log.info("partition_serving", seq=self.seq, resumed=state is not None)
        sub = await self._open_cursor()
        saved_at = ticked_at = idle_since = time.monotonic()
        dirty = False
        try:
            while self.serving:
                msgs = await self._fetch(sub, max(0.05, self._tick_s - (time.monotonic() - ticked_at)))
                if msgs is None:  # the cursor was lost: open it again where we are
                    sub = await self._reopen(sub)
                    continue
                if msgs and self._gap(msgs[0]):  # some before these were handed out and lost: read them again
                    sub = await self._reopen(sub)
                    continue
                if msgs:
                    dirty |= await self._handle(work, msgs)
                    idle_since = time.monotonic()
                elif time.monotonic() - idle_since > IDLE_CHECK_S:
                    idle_since = time.monotonic()
                    if not await self._cursor_healthy():
                        sub = await self._reopen(sub)
                if time.monotonic() - ticked_at >= self._tick_s:
                    ticked_at = time.monotonic()
                    dirty |= await work.tick()
                since = time.monotonic() - saved_at
                if since >= self.svc.settings.scale.checkpoint_s or (dirty and since >= SOON_S):
                    await self._save(work)
                    saved_at, dirty = time.monotonic(), False
            if self._handover.is_set() and self.term.valid():
                await self._save(work)
        finally:
            with contextlib.suppress(*NATS_DOWN):
                await sub.unsubscribe()

    async def _save(self, work: PartWork) -> None:
        await self._checkpoints.save(self.term, self.part, self.seq, work.snapshot())

    # the cursor -------------------------------------------------------------------------------------------------
    async def _open_cursor(self) -> Any:
        """An in-memory consumer of the partition from just after `seq`, retried until NATS takes it."""
        js = self.svc._jetstream()
        config = ConsumerConfig(
            name=self.cursor,
            durable_name=self.cursor,
            filter_subject=self._subject,
            ack_policy=AckPolicy.NONE,
            mem_storage=True,
            num_replicas=1,
            inactive_threshold=CURSOR_IDLE_S,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE if self.seq else DeliverPolicy.ALL,
            opt_start_seq=self.seq + 1 if self.seq else None,
        )
        delay = 0.2
        while True:
            self.term.check()
            try:
                with contextlib.suppress(NotFoundError):
                    await js.delete_consumer(self._stream, self.cursor)
                await js.add_consumer(self._stream, config)
                sub = await js.pull_subscribe_bind(durable=self.cursor, stream=self._stream)
            except NATS_DOWN as exc:
                self._log.warning("cursor_retry", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
            else:
                self._handled = 0
                self._progress()
                return sub

    async def _reopen(self, sub: Any) -> Any:
        with contextlib.suppress(*NATS_DOWN):
            await sub.unsubscribe()
        return await self._open_cursor()

    async def _fetch(self, sub: Any, wait_s: float) -> list[Msg] | None:
        """Messages (possibly none, after `wait_s`), or None when the cursor is gone."""
        try:
            return list(await sub.fetch(FETCH_BATCH, timeout=wait_s))
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        except NATS_DOWN as exc:
            self._log.info("cursor_lost", error=repr(exc))
            await asyncio.sleep(0.2)
            return None

    def _gap(self, first: Msg) -> bool:
        """True when the cursor handed out messages before `first` that never arrived (its deliveries are
        numbered 1, 2, ... and it redelivers nothing: it takes no acks)."""
        delivery = first.metadata.sequence.consumer
        if delivery == self._handled + 1:
            return False
        self._log.warning("cursor_gap", handled_to=self.seq, handled=self._handled, delivered=delivery - 1)
        return True

    async def _cursor_healthy(self) -> bool:
        """False when NATS no longer has the cursor, it holds messages it does not hand out, or it handed out
        messages that never arrived (the last of a lost pull: nothing came after them to show the gap). Counted
        in deliveries, not stream sequences: a cursor filtered to one partition moves its stream position past
        the other partitions' messages without delivering them."""
        try:
            info = await self.svc._jetstream().consumer_info(self._stream, self.cursor)
        except NATS_DOWN:
            return False
        CONSUMER_LAG.labels(self.svc.name, f"{self.svc.name}-{self.part}").set(info.num_pending or 0)
        delivered = (info.delivered.consumer_seq or 0) if info.delivered else 0
        if delivered > self._handled:
            self._log.warning("cursor_gap", handled_to=self.seq, handled=self._handled, delivered=delivered)
            return False
        return not info.num_pending

    def _progress(self) -> None:
        """Where the partition is, in the heartbeat (`healer status`; tests read when it has caught up)."""
        detail = f"at {self.seq} token {self.term.token} handled {self._handled} cursor {self.cursor}"
        self.svc.detail[f"partition {self.part}"] = detail

    async def _drop_cursor(self) -> None:
        self.svc.detail.pop(f"partition {self.part}", None)
        with contextlib.suppress(*NATS_DOWN, AttributeError):
            await self.svc._jetstream().delete_consumer(self._stream, self.cursor)

    # messages ---------------------------------------------------------------------------------------------------
    async def _handle(self, work: PartWork, msgs: list[Msg]) -> bool:
        started = time.perf_counter()
        items = [item for msg in msgs if (item := await self._decode(msg)) is not None]
        published = await work.handle(items) if items else False
        self.seq = msgs[-1].metadata.sequence.stream
        self._handled += len(msgs)
        self._progress()
        elapsed = time.perf_counter() - started
        svc = self.svc
        HANDLE_SECONDS.labels(svc.name, self._family).observe(elapsed)
        MESSAGES.labels(svc.name, self._family, "ok").inc(len(items))
        CONSUMER_LAG.labels(svc.name, f"{svc.name}-{self.part}").set(msgs[-1].metadata.num_pending or 0)
        svc.counters.processed += len(msgs)
        self._log.debug("handled_batch", size=len(msgs), seq=self.seq, ms=round(elapsed * 1000, 2))
        return published

    async def _decode(self, msg: Msg) -> Delivered | None:
        seq = msg.metadata.sequence.stream
        try:
            model = model_for(self.svc.space, self._small_enough(msg).subject)
            item = self._within_limits(decode_delivered(model, msg.headers or {}, msg.data))
        except (InvalidMessage, ValueError) as exc:
            await self._dead_letter(msg, seq, exc)
            return None
        return Delivered(seq, msg.subject, item, self.svc.space.family(msg.subject), msg.headers or {})

    def _small_enough(self, msg: Msg) -> Msg:
        """A message over limits.message_bytes is refused undecoded, as the other consumers do (delivery.py)."""
        if (size := len(msg.data)) > (limit := self.svc.settings.limits.message_bytes):
            raise InvalidMessage(f"message of {size} bytes exceeds limits.message_bytes={limit}")
        return msg

    def _within_limits(self, item: Any) -> Any:
        """An Alertmanager body past the limits (the collector refuses it with 413) is refused here too."""
        if isinstance(item, AlertmanagerWebhook) and (problems := webhook_problems(item, self.svc.settings.limits)):
            raise InvalidMessage("; ".join(problems))
        return item

    async def _dead_letter(self, msg: Msg, seq: int, exc: Exception) -> None:
        """A bounded copy (dead_letters.py), so that even a body near NATS' limit leaves a letter that fits."""
        svc = self.svc
        original = Original(
            event_id=stable_id(svc.name, msg.subject, seq),
            service=svc.name,
            subject=msg.subject,
            body=msg.data,
            headers={k: str(v) for k, v in (msg.headers or {}).items()},
            deliveries=1,
            stream=self._stream,
            stream_seq=seq,
        )
        excerpt = svc.settings.limits.dead_letter_excerpt_bytes
        self.term.check()
        await svc.publish(bounded_letter(original, exc, excerpt_bytes=excerpt, max_bytes=svc.max_payload()))
        svc.counters.dead_lettered += 1
        DEAD_LETTERS.labels(svc.name, self._family).inc()
        MESSAGES.labels(svc.name, self._family, "dead_lettered").inc()
