"""Reading a JetStream stream back a page at a time, newest first: what the read API lists alerts, incidents and
remediations from, straight off the stream (the history of record), with no copy of its own.

JetStream delivers oldest first, so a newest-first page is read in windows of stream sequences walking
backwards from the end (or from a cursor, or from a time): each window is read forward by a short-lived
consumer that takes no acks, and its messages are examined newest first until the page is full. Windows
grow as they find little, so a sparse filter does not cost one round trip per message. Filters that travel
in headers (an alert's `Healer-Status`, `Healer-Severity`, `Healer-Cluster`) are applied without parsing a
body; a subject filter (`healer.alerts.H8`) is applied by the server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

FIRST_WINDOW = 64
MAX_WINDOW = 4_096
FETCH = 1_024
FETCH_WAIT_S = 1.0


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


class StreamPages:
    """Pages of one stream; cheap to make (it holds the JetStream context and the stream's name)."""

    def __init__(self, js: JetStreamContext, stream: str) -> None:
        self._js = js
        self._stream = stream

    async def newest_first(self, query: PageQuery) -> tuple[list[Stored], int | None]:
        """Up to `limit` kept messages, newest first, and the cursor of the page after (None: no more)."""
        bounds = await self._bounds(query)
        if bounds is None:
            return [], None
        first, hi = bounds
        found: list[Stored] = []
        examined, window = 0, max(FIRST_WINDOW, query.limit)
        while hi >= first:
            lo = max(first, hi - window + 1)
            for msg in reversed(await self._window(lo, hi, query.filter_subject)):
                examined += 1
                if query.since is not None and msg.time < query.since:
                    return found, None
                if query.keep is None or query.keep(msg):
                    found.append(msg)
                    if len(found) == query.limit:
                        return found, msg.seq if msg.seq > first else None
            if query.scan_limit is not None and examined >= query.scan_limit:
                return found, lo if lo > first else None
            hi, window = lo - 1, min(window * 2, MAX_WINDOW)
        return found, None

    async def oldest_first(
        self, since: dt.datetime, *, filter_subject: str | None = None, keep: Keep | None = None, limit: int = 10_000
    ) -> list[Stored]:
        """Kept messages stored since a time, oldest first (an incident's audit trail, from its opening on)."""
        config = self._config(filter_subject, DeliverPolicy.BY_START_TIME, opt_start_time=since)
        found: list[Stored] = []
        async with contextlib.aclosing(self._read(config, hi=None)) as messages:
            async for msg in messages:
                if keep is None or keep(msg):
                    found.append(msg)
                    if len(found) >= limit:
                        break
        return found

    async def _bounds(self, query: PageQuery) -> tuple[int, int] | None:
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

    async def _first_seq_from(self, when: dt.datetime, last_seq: int) -> int:
        """The sequence of the first message stored at or after `when` (last + 1 when there is none)."""
        config = self._config(None, DeliverPolicy.BY_START_TIME, opt_start_time=when)
        async with contextlib.aclosing(self._read(config, hi=None)) as messages:
            async for msg in messages:
                return msg.seq
        return last_seq + 1

    async def _window(self, lo: int, hi: int, filter_subject: str | None) -> list[Stored]:
        config = self._config(filter_subject, DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=lo)
        return [msg async for msg in self._read(config, hi=hi)]

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
            ack_policy=AckPolicy.NONE,
            inactive_threshold=10.0,
            filter_subject=filter_subject or None,
            mem_storage=True,
        )

    async def _read(self, config: ConsumerConfig, hi: int | None) -> AsyncGenerator[Stored, None]:
        """Messages from the consumer's start until `hi` (or the stream's end), oldest first. The consumer is
        made for this read and deleted after it (made in memory: it holds nothing but a position)."""
        info = await self._js.add_consumer(self._stream, config)
        try:
            if info.num_pending == 0:
                return
            sub = await self._js.pull_subscribe_bind(info.name, stream=self._stream)
            try:
                while True:
                    try:
                        batch = await sub.fetch(FETCH, timeout=FETCH_WAIT_S)
                    except (TimeoutError, nats.errors.TimeoutError):
                        return
                    for msg in batch:
                        meta = msg.metadata
                        if hi is not None and meta.sequence.stream > hi:
                            return
                        yield Stored(msg.subject, msg.data, msg.headers or {}, meta.timestamp, meta.sequence.stream)
                        if meta.num_pending == 0:
                            return
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()
        finally:
            with contextlib.suppress(Exception):
                await self._js.delete_consumer(self._stream, info.name)
