"""Keeps the API's alert view (alert_view.py) current, and answers alert pages from it: an ordered consumer reads
the ALERTS stream from its first message at start and each alert as it is stored; reads.py asks `page` first and
reads the stream itself when the view cannot answer.

A page is as current as one read off the stream: its bounds come from the stream's state when it is asked
(`StreamPages.bounds`, one round trip), and when the view has not yet read up to that point it is given
CATCH_UP_S to get there (an alert published a moment ago is on its way); a view that does not move in that
time (NATS reconnecting, the start's first read still going) is passed over, and pages are read off the stream
until it moves again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from pydantic import BaseModel, ValidationError

from healer_common.contract import streams
from healer_common.contract.alerts import Alert
from healer_common.runtime.bus import Service
from healer_common.runtime.stream_pages import PageQuery, Stored, StreamPages
from services.api.alert_view import AlertView, ViewQuery
from services.api.queries import ListQuery

CATCH_UP_S = 0.25


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

    async def start(self) -> None:
        if self.view.capacity > 0:
            self._pages = StreamPages(self._svc.nats, streams.ALERTS.name(self._svc.space))
            self._stop = await self._pages.follow(self._svc.space.all_alerts, self._take)

    async def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(Exception):
                await self._stop()

    def _take(self, msg: Stored) -> None:
        self.view.add(msg.seq, msg.time, msg.subject, msg.headers, current_body(Alert, msg))
        self._lagging = False
        self._moved.set()

    async def _reached(self, seq: int) -> bool:
        """Whether the view has read up to `seq`, waiting CATCH_UP_S for it unless it is known to lag."""
        if self.view.last_seq >= seq:
            return True
        if self._lagging:
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
