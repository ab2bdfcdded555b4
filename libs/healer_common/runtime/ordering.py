"""Per-key ordering of concurrently handled messages.

faststream hands every message of a pulled batch to its own task at once, so two events about one pod could
be handled in either order (a `Ready` before the `OOMKilled` it follows). A consumer registered with
`order_by` runs the handlers of one key one after another, in the order the messages were delivered, and
different keys still run concurrently.

Why delivery order is kept: tasks start in delivery order and each reaches `turn()` before its first real
suspension (decoding and middleware entry do no I/O), so each key's queue is joined in that order.
`tests/integration/test_ordering.py` holds this to account on a real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class KeyedSequencer:
    """One-at-a-time, first-come-first-served handling per key."""

    def __init__(self) -> None:
        self._tails: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        """Keys with a handler running or waiting."""
        return len(self._tails)

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        previous = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine

        def release(_: object = None) -> None:
            mine.set_result(None)
            if self._tails.get(key) is mine:
                del self._tails[key]

        try:
            if previous is not None:
                await asyncio.shield(previous)
            yield
        finally:
            if previous is not None and not previous.done():
                # Cancelled while waiting: whoever queued behind us must still wait for the one ahead.
                previous.add_done_callback(release)
            else:
                release()
