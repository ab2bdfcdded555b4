"""How hard to try a channel: retry delays (exponential backoff with full jitter, never sooner than the
receiver's `Retry-After`) and a circuit breaker per channel, so one dead receiver is not hammered while the
others still get their messages. Pure: the clock and the random source are injected. Used by dispatch.py.

    closed --(breaker_failures in a row)--> open --(breaker_open_s later)--> half-open
    half-open --(the trial succeeds)--> closed;  half-open --(the trial fails)--> open again
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from healer_common.clock import Clock
from healer_common.settings.notifier import DeliveryPolicy

CircuitState = Literal["closed", "open", "half-open"]


def retry_delay(policy: DeliveryPolicy, attempt: int, asked_s: float, rand: Callable[[], float]) -> float:
    """Seconds before try `attempt + 1`: full jitter over the doubling backoff, but at least what was asked.

    `asked_s` is the receiver's own wish (Retry-After), 0 when it said nothing; `rand` returns [0, 1).
    """
    ceiling = min(policy.backoff_max_s, policy.backoff_s * 2.0 ** (attempt - 1))
    return max(asked_s, ceiling * rand())


@dataclass
class CircuitBreaker:
    """One channel's breaker; in memory, per replica (each replica learns a receiver is down on its own)."""

    failures_to_open: int
    open_s: float
    clock: Clock
    state: CircuitState = "closed"
    failures: int = 0
    opened_at: dt.datetime | None = None

    def allows(self) -> bool:
        """May a call go out now? An open circuit turns half-open (one trial) once its time is up."""
        if self.state == "open" and self.retry_in_s() <= 0:
            self.state = "half-open"
        return self.state != "open"

    def retry_in_s(self) -> float:
        """How long until an open circuit lets a trial through."""
        if self.state != "open" or self.opened_at is None:
            return 0.0
        return max(0.0, self.open_s - (self.clock.now() - self.opened_at).total_seconds())

    def succeeded(self) -> None:
        self.state, self.failures, self.opened_at = "closed", 0, None

    def failed(self) -> None:
        self.failures += 1
        if self.state == "half-open" or self.failures >= self.failures_to_open:
            self.state, self.opened_at = "open", self.clock.now()


def breakers(policy: DeliveryPolicy, clock: Clock, names: list[str]) -> dict[str, CircuitBreaker]:
    return {name: CircuitBreaker(policy.breaker_failures, policy.breaker_open_s, clock) for name in names}


def jitter() -> float:
    """The production random source for `retry_delay` (tests pass a fixed one)."""
    return random.random()
