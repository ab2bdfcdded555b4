"""Anomaly scores for one series, online: how unusual is this value, given the last week of the series?

`AnomalyScorer.observe(time, value)` returns an `AnomalyScore` whose `score` in [0, 1] uses only that sample
and the ones before it:

1. Surprise, in robust standard deviations (median and interquartile range over the baseline window, a week
   of samples by default): of the value, and of its change since the previous sample. When the series
   follows the clock (its differences from a day ago, or a week ago once a week is known, spread less than
   `seasonal_ratio` of its values), the surprise is instead its difference from the same time yesterday
   (or last week): a daily peak is expected, a missing one is not.
2. A fast surprise (this sample) and a slow one (the mean of the last `slow_points` surprises: a shift in
   behaviour too small for any single sample) are each ranked against their own baseline-window history;
   a surprise larger than all of them scores 1, the k-th largest log(k+1)/log(n+1) less. Ranks make scores
   comparable across series of any scale or noise, which one alerting level for every series needs.
3. After a score of `suppress_after`, the next `suppress_points` scores are damped unless their surprise
   is twice the one that started the quiet: one incident is one detection, not a hundred, and a
   small blip does not hide a large failure that follows it.

Cold start: nothing scores before `warmup` samples. Everything adapts as the windows move on.
Pure; used by baselines.py (the service) and `healer detect anomalies`.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass
from typing import Any

from healer_common.settings.detector import AnomalySettings

DAY_S = 86_400.0
IQR_TO_SIGMA = 1.349
SPACING_SAMPLES = 50


@dataclass(frozen=True)
class AnomalyParams:
    baseline_points: int = 2_016  # a week of 5-minute samples
    slow_points: int = 24
    seasonal_ratio: float = 0.3
    suppress_after: float = 0.9
    suppress_points: int = 100
    suppress_factor: float = 0.5
    warmup: int = 150
    min_points: int = 30
    min_seasonal_points: int = 100


def anomaly_params(cfg: AnomalySettings) -> AnomalyParams:
    """The scorer's parameters from `detector.anomaly` (the rest are the defaults measured on NAB)."""
    return AnomalyParams(
        baseline_points=cfg.baseline_points,
        slow_points=cfg.slow_points,
        seasonal_ratio=cfg.seasonal_ratio,
        suppress_after=cfg.alert_score,
        warmup=cfg.warmup,
    )


@dataclass(frozen=True)
class AnomalyScore:
    score: float
    sigmas: float  # the fast surprise, in robust standard deviations
    seasonal: bool


class RollingOrder:
    """A window of the last `size` numbers kept in order: median, spread and rank in O(log n) lookups."""

    def __init__(self, size: int) -> None:
        self._arrived: deque[float] = deque()
        self._sorted: list[float] = []
        self._size = size

    def __len__(self) -> int:
        return len(self._arrived)

    def values(self) -> list[float]:
        """In arrival order, for a snapshot."""
        return list(self._arrived)

    def load(self, values: list[float]) -> None:
        for value in values[-self._size :]:
            self.add(value)

    def add(self, value: float) -> None:
        if len(self._arrived) == self._size:
            oldest = self._arrived.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._arrived.append(value)
        bisect.insort(self._sorted, value)

    def spread(self) -> float:
        """A robust standard deviation: the interquartile range over 1.349."""
        ordered, n = self._sorted, len(self._sorted)
        spread = (ordered[(3 * n) // 4] - ordered[n // 4]) / IQR_TO_SIGMA
        return spread if spread > 0 else (ordered[-1] - ordered[0]) / 4 or 1.0

    def sigmas(self, value: float, floor: float = 0.0) -> float:
        return abs(value - self._sorted[len(self._sorted) // 2]) / max(self.spread(), floor)

    def rank_score(self, value: float) -> float:
        """1 for a value above all in the window, falling with the log of how many are at least as large."""
        n = len(self._sorted)
        at_least = n - bisect.bisect_left(self._sorted, value)
        return math.log((at_least + 1) / (n + 1)) / math.log(1 / (n + 1))


class AnomalyScorer:
    def __init__(self, params: AnomalyParams | None = None) -> None:
        p = self.p = params or AnomalyParams()
        self._values = RollingOrder(p.baseline_points)
        self._changes = RollingOrder(p.baseline_points)
        self._daily = RollingOrder(p.baseline_points)
        self._weekly = RollingOrder(p.baseline_points)
        self._fast = RollingOrder(p.baseline_points)
        self._slow = RollingOrder(p.baseline_points)
        self._recent: deque[float] = deque(maxlen=p.slow_points)
        self._history: deque[float] = deque()
        self._times: list[float] = []
        self._lag = 0
        self._quiet = 0
        self._quieted_by = math.inf
        self.seen = 0

    _WINDOWS = ("_values", "_changes", "_daily", "_weekly", "_fast", "_slow")

    def state(self) -> dict[str, Any]:
        """Everything learnt, as JSON-ready data: a restarted detector resumes the baseline from it."""
        windows = {name: getattr(self, name).values() for name in self._WINDOWS}
        return {
            **windows,
            "recent": list(self._recent),
            "history": list(self._history),
            "times": self._times,
            "lag": self._lag,
            "quiet": self._quiet,
            "quieted_by": None if math.isinf(self._quieted_by) else self._quieted_by,
            "seen": self.seen,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], params: AnomalyParams | None = None) -> AnomalyScorer:
        scorer = cls(params)
        for name in cls._WINDOWS:
            getattr(scorer, name).load(state[name])
        scorer._recent.extend(state["recent"])
        scorer._history.extend(state["history"])
        scorer._times, scorer._lag, scorer._quiet = list(state["times"]), int(state["lag"]), int(state["quiet"])
        scorer._quieted_by = math.inf if state["quieted_by"] is None else float(state["quieted_by"])
        scorer.seen = int(state["seen"])
        return scorer

    def observe(self, time: float, value: float) -> AnomalyScore:
        self._learn_spacing(time)
        surprise, seasonal = self._surprise(value)
        self._remember(value)
        self.seen += 1
        if math.isnan(surprise):
            return AnomalyScore(0.0, 0.0, seasonal)
        score = self._score(surprise)
        return AnomalyScore(score if self.seen > self.p.warmup else 0.0, surprise, seasonal)

    def _learn_spacing(self, time: float) -> None:
        """A day in samples, from the median spacing of the first samples (0 until there are some)."""
        if len(self._times) < SPACING_SAMPLES:
            self._times.append(time)
            gaps = sorted(b - a for a, b in zip(self._times, self._times[1:], strict=False) if b > a)
            self._lag = round(DAY_S / gaps[len(gaps) // 2]) if len(gaps) >= 10 else 0

    def _surprise(self, value: float) -> tuple[float, bool]:
        if len(self._values) < self.p.min_points:
            return math.nan, False
        surprise = self._values.sigmas(value)
        if self._history and len(self._changes) >= self.p.min_points:
            surprise = max(surprise, self._changes.sigmas(value - self._history[-1]))
        seasonal = self._seasonal_surprise(value)
        return (seasonal, True) if seasonal is not None else (surprise, False)

    def _seasonal_surprise(self, value: float) -> float | None:
        lag, history = self._lag, self._history
        if not lag or len(history) < lag:
            return None
        best, difference = self._daily, value - history[-lag]
        weekly_known = len(history) >= 7 * lag and len(self._weekly) >= self.p.min_seasonal_points
        if weekly_known and self._weekly.spread() < self._daily.spread():
            best, difference = self._weekly, value - history[-7 * lag]
        if len(best) < self.p.min_seasonal_points:
            return None
        spread = self._values.spread()
        if best.spread() >= self.p.seasonal_ratio * spread:
            return None
        return best.sigmas(difference, floor=0.01 * spread)

    def _remember(self, value: float) -> None:
        history, lag = self._history, self._lag
        if history:
            self._changes.add(value - history[-1])
        if lag and len(history) >= lag:
            self._daily.add(value - history[-lag])
        if lag and len(history) >= 7 * lag:
            self._weekly.add(value - history[-7 * lag])
        history.append(value)
        while len(history) > 7 * max(lag, 1) + 1:
            history.popleft()
        self._values.add(value)

    def _score(self, surprise: float) -> float:
        score = self._fast.rank_score(surprise) if len(self._fast) >= self.p.min_points else 0.0
        self._fast.add(surprise)
        self._recent.append(surprise)
        if len(self._recent) == self._recent.maxlen:
            slow = sum(self._recent) / len(self._recent)
            if len(self._slow) >= self.p.min_points:
                score = max(score, self._slow.rank_score(slow))
            self._slow.add(slow)
        if self._quiet > 0:
            self._quiet -= 1
            if surprise <= 2 * self._quieted_by:  # twice the surprise that started the quiet still speaks
                score *= self.p.suppress_factor
        if score >= self.p.suppress_after:
            self._quiet, self._quieted_by = self.p.suppress_points, surprise
        return score
