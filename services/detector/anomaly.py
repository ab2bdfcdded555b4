"""Anomaly scores for one series, online: how unusual is this value, given the series' own past?

`AnomalyScorer.observe(time, value)` returns an `AnomalyScore` whose `score` in [0, 1] uses only that sample
and the ones before it. Three detectors, each scale-free, look at every sample:

1. Level, against a robust baseline (median and interquartile range of the last `baseline_points` values):
   how many robust standard deviations the value lies from it, and its change since the previous sample
   against the spread of changes (a spike in a trending series). When the series follows the clock (its
   differences from a day ago, or a week ago once a week is known, spread less than `seasonal_ratio` of its
   values), the level is judged by its difference from the same time yesterday or last week instead: a daily
   peak is expected, a missing one is not.
2. Level shift: the mean of the last `shift_points` values against the baseline, in the baseline's robust
   standard deviations: a move too small for any one sample that lasts.
3. Each detector's surprise is ranked against its own last `baseline_points` surprises: a surprise larger than all
   of them scores 1, the k-th largest log(k+1)/log(n+1) less. Ranks make scores comparable across series of
   any scale, noise or shape, which one alerting level for every series needs; the score is the highest of
   the detectors' (the smallest of their tail probabilities).

After a score of `alert_score`, the next `suppress_points` scores are damped unless their surprise is clearly
louder (`LOUDER`) than the one that started the quiet: one incident is one detection, not a hundred, and a
small blip does not hide a large failure that follows it. Nothing scores during the first `warmup` samples
(NAB's probation: the baseline is still being learnt). The parameters were chosen by leave-one-category-out
cross-validation on NAB (bench/detector_quality.py); docs/detector.md gives the figures.

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
SPACING_SAMPLES = 50  # the first samples' median spacing says how many samples make a day
LOUDER = 1.5  # a surprise this many times the one that started a quiet is a new incident
DAMPING = 0.5  # within a quiet a tail probability counts as its square root: its score halves, still visible
MIN_POINTS = 30  # fewer samples than this give no baseline worth a score
MIN_SEASONAL_POINTS = 100  # day-ago differences needed before the clock is trusted
DETECTORS = ("level", "change", "seasonal", "shift")
_REFERENCES = ("_values", "_daily", "_weekly")  # what a level is judged against: no clock, a day, a week


@dataclass(frozen=True)
class AnomalyParams:
    baseline_points: int = 4_032  # two weeks of 5-minute samples
    shift_points: int = 48  # four hours of 5-minute samples
    rank_points: int = 4_032  # each detector's surprises are ranked against as many of their own
    seasonal_ratio: float = 0.3
    alert_score: float = 1.0  # a record: more surprising than anything in its detector's history
    suppress_points: int = 100
    warmup: int = 150


def anomaly_params(cfg: AnomalySettings) -> AnomalyParams:
    """The scorer's parameters from `detector.anomaly`; the service and `healer detect anomalies` share them."""
    return AnomalyParams(
        baseline_points=cfg.baseline_points,
        shift_points=cfg.shift_points,
        rank_points=cfg.baseline_points,
        seasonal_ratio=cfg.seasonal_ratio,
        alert_score=cfg.alert_score,
        suppress_points=cfg.suppress_points,
        warmup=cfg.warmup,
    )


@dataclass(frozen=True)
class AnomalyScore:
    score: float
    sigmas: float  # the level's surprise, in robust standard deviations
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

    def median(self) -> float:
        return self._sorted[len(self._sorted) // 2]

    def spread(self) -> float:
        """A robust standard deviation: the interquartile range over 1.349 (a quarter of the range when the
        quartiles agree, 1 for a constant)."""
        ordered, n = self._sorted, len(self._sorted)
        spread = (ordered[(3 * n) // 4] - ordered[n // 4]) / IQR_TO_SIGMA
        return spread if spread > 0 else (ordered[-1] - ordered[0]) / 4 or 1.0

    def sigmas(self, value: float, floor: float = 0.0) -> float:
        return abs(value - self.median()) / max(self.spread(), floor)

    def tail(self, value: float) -> float:
        """The share of the window at least as large as the value, counting the value itself."""
        n = len(self._sorted)
        return (n - bisect.bisect_left(self._sorted, value) + 1) / (n + 1)


class AnomalyScorer:
    _WINDOWS = ("_values", "_changes", "_daily", "_weekly")

    def __init__(self, params: AnomalyParams | None = None) -> None:
        p = self.p = params or AnomalyParams()
        self._values = RollingOrder(p.baseline_points)
        self._changes = RollingOrder(p.baseline_points)
        self._daily = RollingOrder(p.baseline_points)
        self._weekly = RollingOrder(p.baseline_points)
        self._ranks = {name: RollingOrder(p.rank_points) for name in DETECTORS}
        # the last values and day- and week-ago differences, for the shift's window (which ends with the sample)
        size = max(p.shift_points - 1, 1)
        self._recent = {name: deque[float](maxlen=size) for name in _REFERENCES}
        self._history: deque[float] = deque()
        self._times: list[float] = []
        self._lag = 0
        self._quiet: dict[str, tuple[int, float]] = {}  # per detector: samples of quiet left, and what started it
        self.seen = 0

    def state(self) -> dict[str, Any]:
        """Everything learnt, as JSON-ready data: a restarted detector resumes the baseline from it."""
        return {
            **{name: getattr(self, name).values() for name in self._WINDOWS},
            "ranks": {name: order.values() for name, order in self._ranks.items()},
            "recent": {name: list(recent) for name, recent in self._recent.items()},
            "history": list(self._history),
            "times": self._times,
            "lag": self._lag,
            "quiet": {name: list(quiet) for name, quiet in self._quiet.items()},
            "seen": self.seen,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], params: AnomalyParams | None = None) -> AnomalyScorer:
        scorer = cls(params)
        for name in cls._WINDOWS:
            getattr(scorer, name).load(state[name])
        for name, values in state["ranks"].items():
            scorer._ranks[name].load(values)
        for name, values in state["recent"].items():
            scorer._recent[name].extend(values)
        scorer._history.extend(state["history"])
        scorer._times, scorer._lag = list(state["times"]), int(state["lag"])
        scorer._quiet = {name: (int(left), float(by)) for name, (left, by) in state["quiet"].items()}
        scorer.seen = int(state["seen"])
        return scorer

    def observe(self, time: float, value: float) -> AnomalyScore:
        self._learn_spacing(time)
        surprises = self._surprises(value)
        self._remember(value)
        self.seen += 1
        seasonal = "seasonal" in surprises
        sigmas = surprises.get("seasonal", surprises.get("level", 0.0))
        score = self._ranked(surprises)
        return AnomalyScore(score if self.seen > self.p.warmup else 0.0, sigmas, seasonal)

    def _learn_spacing(self, time: float) -> None:
        """A day in samples, from the median spacing of the first samples (0 until there are some)."""
        if len(self._times) < SPACING_SAMPLES:
            self._times.append(time)
            gaps = sorted(b - a for a, b in zip(self._times, self._times[1:], strict=False) if b > a)
            self._lag = round(DAY_S / gaps[len(gaps) // 2]) if len(gaps) >= 10 else 0

    def _surprises(self, value: float) -> dict[str, float]:
        """Each detector's surprise at this value, in robust standard deviations of what it compares with.

        The level and its shift are judged against the baseline of values, or, when the series follows the
        clock, against the baseline of differences from a day (or a week) ago: the clock explains the level."""
        if len(self._values) < MIN_POINTS:
            return {}
        found: dict[str, float] = {}
        if self._history and len(self._changes) >= MIN_POINTS:
            found["change"] = self._changes.sigmas(value - self._history[-1])
        reference, residual = self._reference(value)
        baseline = getattr(self, reference)
        floor = 0.01 * self._values.spread()  # a near-perfect rhythm does not make every wobble a surprise
        found["seasonal" if reference != "_values" else "level"] = baseline.sigmas(residual, floor)
        recent = self._recent[reference]
        if len(recent) == recent.maxlen:
            mean = (sum(recent) + residual) / (len(recent) + 1)
            found["shift"] = baseline.sigmas(mean, floor)
        return found

    def _reference(self, value: float) -> tuple[str, float]:
        """What the value is judged against: its baseline, or the same time yesterday or last week when the
        differences from then spread less than `seasonal_ratio` of the values; and the value's residual."""
        lag, history = self._lag, self._history
        if not lag or len(history) < lag or len(self._daily) < MIN_SEASONAL_POINTS:
            return "_values", value
        best, residual = "_daily", value - history[-lag]
        weekly_known = len(history) >= 7 * lag and len(self._weekly) >= MIN_SEASONAL_POINTS
        if weekly_known and self._weekly.spread() < self._daily.spread():
            best, residual = "_weekly", value - history[-7 * lag]
        if getattr(self, best).spread() >= self.p.seasonal_ratio * self._values.spread():
            return "_values", value
        return best, residual

    def _remember(self, value: float) -> None:
        history, lag = self._history, self._lag
        if history:
            self._changes.add(value - history[-1])
        self._values.add(value)
        self._recent["_values"].append(value)
        for name, ago in (("_daily", lag), ("_weekly", 7 * lag)):
            if lag and len(history) >= ago:
                getattr(self, name).add(value - history[-ago])
                self._recent[name].append(value - history[-ago])
        history.append(value)
        while len(history) > 7 * max(lag, 1) + 1:
            history.popleft()

    def _ranked(self, surprises: dict[str, float]) -> float:
        """The detectors' combined score; each surprise then joins its detector's history.

        Each detector's surprise gets a tail probability from its rank in the detector's own history (damped
        while that detector is quiet after a detection), the smallest is corrected for the number of detectors
        that looked (Sidak: k chances of a rare value), and its logarithm scaled so that a record, the most
        extreme evidence the histories can give, scores 1."""
        tails: dict[str, float] = {}
        for name, surprise in surprises.items():
            ranks = self._ranks[name]
            if len(ranks) >= MIN_POINTS:
                tails[name] = self._quieted(name, ranks.tail(surprise), surprise)
            ranks.add(surprise)
        if not tails:
            return 0.0
        name = min(tails, key=tails.__getitem__)
        looks, rarest = len(tails), 1 / len(self._ranks[name])  # the history held n when the tail was taken
        score = math.log(_sidak(tails[name], looks)) / math.log(_sidak(rarest, looks))
        if score >= self.p.alert_score and self.seen > self.p.warmup:
            self._quiet[name] = (self.p.suppress_points, surprises[name])
        return min(max(score, 0.0), 1.0)

    def _quieted(self, name: str, tail: float, surprise: float) -> float:
        """A detector's tail probability, damped for `suppress_points` after it detected unless clearly louder.

        Per detector: a level shift first moves the level, and the shift detector confirms it later; a quiet
        started by one must not silence the other's evidence of something new."""
        left, by = self._quiet.get(name, (0, math.inf))
        if left <= 0:
            return tail
        self._quiet[name] = (left - 1, by)
        return tail**DAMPING if surprise <= LOUDER * by else tail


def _sidak(tail: float, looks: int) -> float:
    """The chance that the smallest of `looks` independent tail probabilities is this small."""
    return -math.expm1(looks * math.log1p(-min(tail, 1 - 1e-12)))
