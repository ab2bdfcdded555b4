"""Reading a JetStream stream back a page at a time, newest first: what the read API lists alerts, incidents and
remediations from, straight off the stream (the history of record), with no copy of its own.

JetStream delivers oldest first, so a newest-first page is read in windows of stream sequences walking
backwards from the end (or from a cursor, or from a time): each window is pushed by a short-lived consumer
whose unacknowledged ceiling (`max_ack_pending`, nothing is ever acked) is the window's size, so the server
sends the window and no more, into one subscription callback (no round trip per message); its messages are
examined newest first until the page is full. Windows grow as they find little, so a sparse filter does not
cost a consumer per message. Filters that travel
in headers (an alert's `Healer-Status`, `Healer-Severity`, `Healer-Cluster`) are applied without parsing a
body; a subject filter (`healer.alerts.H8`) is applied by the server.

`follow` is the other way to read a stream: all of it, oldest first, and then each message as it is stored (the
read API's alert view, services/api/alert_view.py, is kept current so).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import nats.aio.client
import nats.aio.msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

FIRST_WINDOW = 64
MAX_WINDOW = 4_096
READ_WAIT_S = 10.0


@dataclass(frozen=True)
class Stored:
    """One message as the stream holds it."""

    subject: str
    data: bytes
    headers: Mapping[str, str]
    time: dt.datetime
    seq: int


Keep = Callable[[Stored], bool]


@dataclass(frozen=True)
class PageQuery:
    """Which messages, and how many. `before` is a cursor: only messages older than that sequence."""

    limit: int
    before: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    filter_subject: str | None = None
    keep: Keep | None = None
    scan_limit: int | None = None


def next_window(window: int, kept: int, wanted: int) -> int:
    """The next window's size: as many sequences as the last window's share of kept messages says the rest of
    the page needs (a fifth more), at least twice the last when it kept nothing, at most MAX_WINDOW."""
    if kept == 0:
        return min(window * 2, MAX_WINDOW)
    return max(FIRST_WINDOW, min(MAX_WINDOW, -(-wanted * window * 6 // (kept * 5))))


class StreamPages:
    """Pages of one stream; cheap to make (it holds the connection and the stream's name)."""

    def __init__(self, nc: nats.aio.client.Client, stream: str) -> None:
        self._nc = nc
        self._js = nc.jetstream()
        self._stream = stream

    async def newest_first(self, query: PageQuery) -> tuple[list[Stored], int | None]:
        """Up to `limit` kept messages, newest first, and the cursor of the page after (None: no more)."""
        bounds = await self.bounds(query)
        if bounds is None:
            return [], None
        first, hi = bounds
        found: list[Stored] = []
        examined, window = 0, max(FIRST_WINDOW, query.limit)
        while hi >= first:
            lo = max(first, hi - window + 1)
            config = self._config(query.filter_subject, DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=lo)
            kept_before = len(found)
            for msg in reversed(await self._read(config, hi=hi, limit=hi - lo + 1)):
                examined += 1
                if query.since is not None and msg.time < query.since:
                    return found, None
                if query.keep is None or query.keep(msg):
                    found.append(msg)
                    if len(found) == query.limit:
                        return found, msg.seq if msg.seq > first else None
            if query.scan_limit is not None and examined >= query.scan_limit:
                return found, lo if lo > first else None
            hi, window = lo - 1, next_window(window, len(found) - kept_before, query.limit - len(found))
        return found, None

    async def oldest_first(
        self, since: dt.datetime, *, filter_subject: str | None = None, keep: Keep | None = None, limit: int = 10_000
    ) -> list[Stored]:
        """Kept messages stored since a time, oldest first (an incident's audit trail, from its opening on);
        at most `limit` are examined."""
        config = self._config(filter_subject, DeliverPolicy.BY_START_TIME, opt_start_time=since)
        return [m for m in await self._read(config, hi=None, limit=limit) if keep is None or keep(m)]

    async def bounds(self, query: PageQuery) -> tuple[int, int] | None:
        """The first sequence, and the newest one a page may start at; None when nothing can match."""
        try:
            state = (await self._js.stream_info(self._stream)).state
        except NotFoundError:
            return None
        if state.messages == 0:
            return None
        hi = state.last_seq
        if query.before is not None:
            hi = min(hi, query.before - 1)
        if query.until is not None:
            hi = min(hi, await self._first_seq_from(query.until, state.last_seq) - 1)
        return (state.first_seq, hi) if hi >= state.first_seq else None

    async def follow(self, filter_subject: str, take: Callable[[Stored], None]) -> Callable[[], Awaitable[None]]:
        """Every message of the stream under `filter_subject`, oldest first, then each one as it is stored, into
        `take`, in sequence order and none twice (an ordered consumer: nats-py starts it again after a gap or a
        reconnection). Returns the function that stops it."""

        async def on_message(msg: nats.aio.msg.Msg) -> None:
            meta = msg.metadata
            take(Stored(msg.subject, msg.data, msg.headers or {}, meta.timestamp, meta.sequence.stream))

        sub = await self._js.subscribe(
            filter_subject,
            stream=self._stream,
            cb=on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
            inactive_threshold=60.0,
        )
        return sub.unsubscribe

    async def _first_seq_from(self, when: dt.datetime, last_seq: int) -> int:
        """The sequence of the first message stored at or after `when` (last + 1 when there is none)."""
        found = await self._read(self._config(None, DeliverPolicy.BY_START_TIME, opt_start_time=when), None, 1)
        return found[0].seq if found else last_seq + 1

    def _config(
        self,
        filter_subject: str | None,
        policy: DeliverPolicy,
        *,
        opt_start_seq: int | None = None,
        opt_start_time: dt.datetime | None = None,
    ) -> ConsumerConfig:
        return ConsumerConfig(
            deliver_policy=policy,
            opt_start_seq=opt_start_seq,
            opt_start_time=opt_start_time,
            ack_policy=AckPolicy.EXPLICIT,  # never acked: the ack ceiling bounds what the server pushes
            inactive_threshold=10.0,
            filter_subject=filter_subject or None,
            mem_storage=True,
        )

    async def _read(self, config: ConsumerConfig, hi: int | None, limit: int) -> list[Stored]:
        """Up to `limit` messages from the consumer's start (and none past `hi`), oldest first. The consumer is
        made for this read, pushes into one subscription, and is deleted after it."""
        found: list[Stored] = []
        done = asyncio.Event()

        async def take(msg: nats.aio.msg.Msg) -> None:
            meta = msg.metadata
            seq = meta.sequence.stream
            if done.is_set() or (hi is not None and seq > hi):
                done.set()
                return
            found.append(Stored(msg.subject, msg.data, msg.headers or {}, meta.timestamp, seq))
            if meta.num_pending == 0 or len(found) >= limit or seq == hi:
                done.set()

        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox, cb=take, pending_msgs_limit=max(limit * 2, 1_024))
        config.deliver_subject, config.max_ack_pending = inbox, max(1, limit)
        try:
            info = await self._js.add_consumer(self._stream, config)
            try:
                if info.num_pending:
                    async with asyncio.timeout(READ_WAIT_S):
                        await done.wait()
            finally:
                with contextlib.suppress(Exception):
                    await self._js.delete_consumer(self._stream, info.name)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return found
