"""Waiting on a condition with a deadline instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any

import pytest

DEFAULT_WAIT_S = 15.0


async def eventually(
    probe: Callable[[], Any],
    *,
    timeout: float = DEFAULT_WAIT_S,
    interval: float = 0.05,
    what: str = "condition",
) -> Any:
    """Call `probe` (plain or async) until it returns something truthy and return that; fail the test at the
    deadline, naming `what` was awaited and the last value seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        result = probe()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        last = result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)
