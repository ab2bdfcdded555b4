"""Live updates: what the bus publishes goes out at once to every `/api/v1/events` client, and the dashboard
is recomputed (from JetStream and Redis, like any read) when something changed, at most every
DEBOUNCE_S, and at least every `api.refresh_s` while someone watches, then pushed to every
`/api/v1/dashboard/stream` client. A client that falls behind keeps only the newest dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from healer_common.contract.views import DashboardView
from services.api.sse import KEEP_ALIVE, frame

DEBOUNCE_S = 0.05
KEEP_ALIVE_S = 15.0
EVENTS_BACKLOG = 1_000
Clients = set[asyncio.Queue[bytes | None]]


def _offer(queue: asyncio.Queue[bytes | None], item: bytes | None, *, newest_only: bool) -> None:
    if queue.full() and newest_only:
        with contextlib.suppress(asyncio.QueueEmpty):
            queue.get_nowait()
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(item)


class LiveFeed:
    def __init__(self, compute: Callable[[], Awaitable[DashboardView]], refresh_s: float) -> None:
        self._compute = compute
        self._refresh_s = refresh_s
        self._events: Clients = set()
        self._dashboards: Clients = set()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.pushed = 0

    # the bus side ------------------------------------------------------------------------------------------
    def published(self, kind: str, body: bytes) -> None:
        """Something was published: tell the event clients now, and recompute the dashboard soon."""
        message = frame(kind, body)
        for queue in self._events:
            _offer(queue, message, newest_only=False)
        self._changed.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # asyncio.timeout, not wait_for: see bus.py's heartbeat
                async with asyncio.timeout(self._refresh_s):
                    await self._changed.wait()
            await asyncio.sleep(DEBOUNCE_S)
            self._changed.clear()
            if self._dashboards:
                await self.push()

    async def push(self) -> None:
        view = await self._compute()
        message = frame("dashboard", view.model_dump_json().encode())
        for queue in self._dashboards:
            _offer(queue, message, newest_only=True)
        self.pushed += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """End every stream (their handlers return) and the recomputing loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for queue in (*self._events, *self._dashboards):
            _offer(queue, None, newest_only=True)

    # the HTTP side -----------------------------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, self._events, asyncio.Queue(EVENTS_BACKLOG), first=None)

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        first = frame("dashboard", (await self._compute()).model_dump_json().encode())
        return await self._serve(request, self._dashboards, asyncio.Queue(1), first=first)

    async def _serve(
        self, request: web.Request, clients: Clients, queue: asyncio.Queue[bytes | None], first: bytes | None
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        clients.add(queue)
        try:
            if first is not None:
                await response.write(first)
            while True:
                message: bytes | None = KEEP_ALIVE
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(KEEP_ALIVE_S):
                        message = await queue.get()
                if message is None:
                    break
                await response.write(message)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            clients.discard(queue)
        return response
