"""Keeps the API's alert view (alert_view.py) current, and answers alert pages from it: an ordered consumer reads
the ALERTS stream from its first message at start and each alert as it is stored; reads.py asks `page` first and
reads the stream itself when the view cannot answer.

A page is as current as one read off the stream: its bounds come from the stream's state when it is asked
(`StreamPages.bounds`, one round trip), and when the view has not yet read up to that point it is given
CATCH_UP_S to get there (an alert published a moment ago is on its way); a view that does not move in that
time (NATS reconnecting, the start's first read still going) is passed over, and pages are read off the stream
until it moves again. A view further behind than CATCH_UP_GAP (still reading the stream at start: 3 to 5 s
for 100,000 alerts) is not waited for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ValidationError

from healer_common.contract import streams
from healer_common.contract.alerts import Alert
from healer_common.runtime.bus import Service
from healer_common.runtime.stream_pages import PageQuery, Stored, StreamPages
from services.api.alert_view import AlertView, ViewQuery
from services.api.queries import ListQuery

CATCH_UP_S = 0.25
CATCH_UP_GAP = 1_000  # alerts the view reads well within CATCH_UP_S; further behind (its first read), not waited for


def current_body(model: type[BaseModel], msg: Stored) -> bytes | None:
    """The stored body in `model`'s current shape: what Healer's publishers sent in it (their `Healer-Schema`
    header says so) as it is, anything else read and written anew (an alert of schema 1, published while
    subscribers migrate); None when it is not a `model` at all."""
    if msg.headers.get("Healer-Schema") == f"{model.__name__}.v{model.model_fields['schema_version'].default}":
        return msg.data
    try:
        return model.model_validate_json(msg.data).model_dump_json().encode()
    except ValidationError:
        return None


class AlertFollow:
    def __init__(self, svc: Service) -> None:
        self._svc = svc
        self._pages: StreamPages | None = None  # made at start, once NATS is connected
        self.view = AlertView(svc.settings.api.alert_view_max)
        self._moved = asyncio.Event()
        self._lagging = False
        self._stop: Callable[[], Awaitable[None]] | None = None
        self._started = 0.0
        self._built_at: int | None = None  # the stream's last sequence at start, until the view has read it

    async def start(self) -> None:
        if self.view.capacity > 0:
            self._pages = StreamPages(self._svc.nats, streams.ALERTS.name(self._svc.space))
            bounds = await self._pages.bounds(PageQuery(1))
            self._built_at, self._started = (bounds[1] if bounds else None), time.perf_counter()
            self._stop = await self._pages.follow(self._svc.space.all_alerts, self._take)

    async def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(Exception):
                await self._stop()

    def _take(self, msg: Stored) -> None:
        self.view.add(msg.seq, msg.time, msg.subject, msg.headers, current_body(Alert, msg))
        self._lagging = False
        self._moved.set()
        if self._built_at is not None and msg.seq >= self._built_at:
            self._built_at = None
            seconds = round(time.perf_counter() - self._started, 3)
            self._svc.log.info("alert_view_built", alerts=len(self.view), seconds=seconds)

    async def _reached(self, seq: int) -> bool:
        """Whether the view has read up to `seq`, waiting CATCH_UP_S for it unless it is known to lag."""
        if self.view.last_seq >= seq:
            return True
        if self._lagging or seq - self.view.last_seq > CATCH_UP_GAP:
            return False
        try:
            async with asyncio.timeout(CATCH_UP_S):
                while self.view.last_seq < seq:
                    self._moved.clear()
                    await self._moved.wait()
        except TimeoutError:
            self._lagging = True
            return False
        return True

    async def page(self, q: ListQuery, subject: str | None) -> tuple[list[bytes], int | None] | None:
        """The page `q` asks for, newest first, with the cursor of the next; None: ask the stream."""
        if self._pages is None:
            return None
        bounds = await self._pages.bounds(PageQuery(q.limit, q.cursor, q.since, q.until))
        if bounds is None:
            return [], None
        first, hi = bounds
        if not await self._reached(hi):
            return None
        self.view.forget_before(first)
        return self.view.newest_first(ViewQuery(q.limit, first, hi, q.since, subject, q.headers))
