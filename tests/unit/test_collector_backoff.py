"""Delays between tries double up to a ceiling and vary by the jitter, so collectors never retry in step."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from healer_common.settings.collector import RetrySettings
from services.collector.backoff import Backoff


def test_delays_double_up_to_the_ceiling_and_start_again_after_a_success() -> None:
    backoff = Backoff(RetrySettings(backoff_s=0.5, max_backoff_s=3.0, jitter=0.0))

    delays = [backoff.next() for _ in range(5)]
    backoff.reset()

    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert backoff.next() == 0.5


@given(jitter=st.floats(0, 1), tries=st.integers(1, 12), pick=st.floats(0, 1))
def test_jitter_keeps_every_delay_within_its_fraction_of_the_base(jitter: float, tries: int, pick: float) -> None:
    retry = RetrySettings(backoff_s=0.5, max_backoff_s=10.0, jitter=jitter)
    backoff = Backoff(retry, uniform=lambda low, high: low + (high - low) * pick)

    for attempt in range(tries):
        base = min(10.0, 0.5 * 2**attempt)
        delay = backoff.next()
        assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9
