"""Time, injected: logic takes a `Clock` so that rules, windows and decay are tested without sleeping."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The wall clock, always tz-aware UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock tests move by hand, so that "held for 5 minutes" takes no time at all."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> dt.datetime:
        self._now += dt.timedelta(seconds=seconds)
        return self._now

    def set(self, when: dt.datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock.set needs a tz-aware datetime; got a naive one")
        self._now = when


def utcnow() -> dt.datetime:
    """Default factory for message timestamps; logic should take a Clock instead."""
    return dt.datetime.now(dt.UTC)
