"""A wait that the service's stop (or a partition's hand-over) cuts short: backoffs between tries, and a batch
consumer's linger, must not hold a stopping service for their full length."""

from __future__ import annotations

import asyncio
import contextlib


async def pause(seconds: float, *, unless: asyncio.Event) -> None:
    """Wait `seconds`, or until `unless` is set, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(unless.wait(), timeout=seconds)
