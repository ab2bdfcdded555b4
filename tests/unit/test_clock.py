"""Injected time: a ManualClock moves only when a test moves it, and is always tz-aware UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.clock import ManualClock, SystemClock, utcnow
from tests.support.samples import T0


def test_a_manual_clock_starts_at_a_fixed_utc_time_and_stays_there() -> None:
    clock = ManualClock()

    assert clock.now() == T0
    assert clock.now().tzinfo is dt.UTC
    assert clock.now() == clock.now()


def test_a_manual_clock_can_start_when_told() -> None:
    start = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)

    assert ManualClock(start).now() == start


def test_advance_moves_the_clock_and_returns_the_new_time() -> None:
    clock = ManualClock()

    moved = clock.advance(90.5)

    assert moved == T0 + dt.timedelta(seconds=90.5)
    assert clock.now() == moved
    assert clock.advance(-30) == T0 + dt.timedelta(seconds=60.5)


def test_set_jumps_to_an_aware_time() -> None:
    clock = ManualClock()
    later = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)

    clock.set(later)

    assert clock.now() == later


def test_set_refuses_a_naive_time_and_keeps_the_old_one() -> None:
    clock = ManualClock()

    with pytest.raises(ValueError, match="tz-aware"):
        clock.set(dt.datetime(2026, 2, 1))  # noqa: DTZ001 - the naive time is the point

    assert clock.now() == T0


def test_the_system_clock_and_utcnow_are_aware_utc() -> None:
    for now in (SystemClock().now(), utcnow()):
        assert now.utcoffset() == dt.timedelta(0)
