"""Time, injected: logic takes a `Clock` so that rules, windows and decay are tested without sleeping."""

from __future__ import annotations

import datetime as dt
import re
from typing import Protocol

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> dt.timedelta:
    """A duration as people type it (`90s`, `30m`, `2h`, `1h30m`, `7d`); raise ValueError saying how one is
    written when `text` is not one. The CLI's options and the read API's time filters both read them."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"{text!r} is not a duration: write e.g. 90s, 30m, 2h, 1h30m or 7d")
    seconds = sum(float(number) * _UNIT_S[unit] for number, unit in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return dt.timedelta(seconds=seconds)


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
