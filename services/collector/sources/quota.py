"""Where an external API's budgets are heading, so that Healer warns before they run out, not at zero.

    rate-limit quota   from the quota the answers announce (ratelimit.py), read again and again: the rate at
                       which it is spent over the last `window_s`, and so the seconds until it runs out,
                       `ratelimit_exhausted_in_seconds` (NEVER when at that rate it lasts until its window resets)
    error budget       for a probe with an `slo` (e.g. 0.99 over `slo_window_s`): the share of the window's
                       allowed failures still unspent, `probe_error_budget_remaining_ratio`

The detector's H2 rule fires on them (an API's quota or error budget running out). Pure: the probes and the
github source feed readings and times.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from services.collector.sources.ratelimit import RateLimit

NEVER = 86_400.0  # "not before its window resets": a value no threshold of minutes is near
WINDOW_S = 300.0


@dataclass
class QuotaTrend:
    """Per target, the quota's recent readings since it was last refilled."""

    window_s: float = WINDOW_S
    _readings: dict[str, deque[tuple[float, float]]] = field(default_factory=dict)

    def exhausted_in(self, target: str, quota: RateLimit, now: float) -> float | None:
        """Seconds until the quota runs out at the rate it is spent now; NEVER if not before it resets; None
        when the answers say nothing of what is left."""
        if quota.remaining is None:
            return None
        seen = self._readings.setdefault(target, deque())
        if seen and quota.remaining > seen[-1][1]:
            seen.clear()  # refilled: a new window, a new trend
        seen.append((now, quota.remaining))
        while len(seen) > 2 and now - seen[1][0] >= self.window_s:
            seen.popleft()
        (first_at, first), (last_at, last) = seen[0], seen[-1]
        spent, elapsed = first - last, last_at - first_at
        if spent <= 0 or elapsed <= 0:
            return NEVER if last > 0 else 0.0
        left = last / (spent / elapsed)
        if quota.reset_s is not None and left >= quota.reset_s:
            return NEVER
        return left


@dataclass
class ErrorBudget:
    """A probe's failures over its SLO window against the failures the SLO affords in a window of probes
    (`probes_per_window` of them at the probe's interval), so one early failure spends a little of the
    budget, not all of it."""

    slo: float
    window_s: float
    probes_per_window: float
    _failures: deque[float] = field(default_factory=deque)

    def remaining(self, up: bool, now: float) -> float:
        if not up:
            self._failures.append(now)
        while self._failures and now - self._failures[0] > self.window_s:
            self._failures.popleft()
        allowed = self.probes_per_window * (1.0 - self.slo)
        if allowed <= 0:
            return 0.0 if self._failures else 1.0
        return max(0.0, 1.0 - len(self._failures) / allowed)
