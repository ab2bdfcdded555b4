"""Delays between tries: exponential with a ceiling and jitter, so a fleet of collectors that lost the same
API server does not come back knocking in step. Used by every source; the random source is injected so tests
can pin it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

from healer_common.settings.collector import RetrySettings


class Backoff:
    """`next()` gives the delay before the next try; `reset()` after a success starts again from the first."""

    def __init__(self, retry: RetrySettings, *, uniform: Callable[[float, float], float] = random.uniform) -> None:
        self._retry = retry
        self._uniform = uniform
        self._tries = 0

    def next(self) -> float:
        base = min(self._retry.max_backoff_s, self._retry.backoff_s * 2.0**self._tries)
        self._tries += 1
        spread = base * self._retry.jitter
        return max(0.0, base + self._uniform(-spread, spread))

    def reset(self) -> None:
        self._tries = 0

    @property
    def tries(self) -> int:
        """Failed tries since the last success."""
        return self._tries


def stop_if_cancelled() -> None:
    """Raise CancelledError when the current task is being cancelled, whatever an inner library made of it.

    A cancellation that lands as an HTTP read times out can come back from httpx as a timeout (anyio turns
    the two into one); a retry loop that caught it would then retry forever and the collector would never
    stop. Every loop that catches a failure and tries again calls this first.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
