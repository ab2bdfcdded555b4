"""Trend prediction for one series: when will it cross its threshold, and how sure are we?

Fed online, sample by sample (`TrendTracker.observe`); it answers once per slot (a minute by default) with a
`TrendAnalysis`: the current level, the rate of change per minute, the predicted crossing time and a
confidence in [0, 1]. Two forecasts compete, and the one whose recent forecasts came closer wins:

- linear: a robust line over the last `window_slots` slots. The slope is the median of three Theil-Sen
  slopes (whole window, first half, second half), so outliers do not move it and a level shift (two flat
  halves joined by a step) does not pass for a trend; the level is the robust line's value now.
- seasonal: once a day of history exists, yesterday's profile (in `profile_slot_s` slots) shifted by the
  median drift between today and yesterday over the window, so a daily swing is expected, not extrapolated.

Each forecast is scored against what happened `score_slots` later (an exponentially weighted mean of the
absolute errors), which is how daily seasonality gets noticed without any per-series setting. Confidence is
the agreement of the pairwise slopes' signs times how far the trend stands above the noise (linear), or how
far the forecast clears the threshold compared with the day-to-day noise (seasonal).

Pure: no clock but the samples' own times. Used by predictions.py (the service) and `healer detect trend`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
DAY_S = 86_400.0
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class TrendParams:
    threshold: float
    above: bool = True
    horizon_s: float = 1_800.0
    slot_s: float = 60.0
    window_slots: int = 60
    profile_slot_s: float = 900.0
    score_slots: int = 15
    min_confidence: float = 0.6


@dataclass(frozen=True)
class TrendAnalysis:
    """The seed's TrendAnalysis: where a series is heading and when it crosses its threshold."""

    time: float
    value: float
    rate_per_minute: float
    crossing: float | None  # unix seconds, when predicted within the horizon
    confidence: float
    model: str

    @property
    def time_to_threshold_s(self) -> float | None:
        return None if self.crossing is None else max(0.0, self.crossing - self.time)


def theil_sen(times: Floats, values: Floats) -> tuple[float, float]:
    """The median pairwise slope, and the share of pairwise slopes that agree with its sign."""
    if times.size < 2:
        return 0.0, 0.0
    i, j = np.triu_indices(times.size, k=1)
    dt = times[j] - times[i]
    slopes = (values[j] - values[i])[dt > 0] / dt[dt > 0]
    if slopes.size == 0:
        return 0.0, 0.0
    slope = float(np.median(slopes))
    agree = float(np.mean(np.sign(slopes) == np.sign(slope))) if slope != 0 else 0.0
    return slope, agree


def _refined(times: Floats, values: Floats, slope: float, noise: float) -> float:
    """Least squares over the points near the robust line: outliers out, then the efficient estimate."""
    residuals = values - slope * times
    near = np.abs(residuals - np.median(residuals)) <= 4.5 * noise
    if near.sum() < 3:
        return slope
    t, v = times[near], values[near]
    spread = float(np.sum((t - t.mean()) ** 2))
    return float(np.sum((t - t.mean()) * (v - v.mean())) / spread) if spread > 0 else slope


class TrendTracker:
    def __init__(self, params: TrendParams) -> None:
        self.p = params
        self._sign = 1.0 if params.above else -1.0
        self._times = np.full(params.window_slots, np.nan)
        self._values = np.full(params.window_slots, np.nan)
        # the last day and a bit, by absolute profile slot: the mean of the slot's values, and which slot it is
        span = DAY_S + (params.window_slots * params.slot_s + params.horizon_s) * 2
        size = int(span // params.profile_slot_s) + 2
        self._profile_sum = np.zeros(size)
        self._profile_count = np.zeros(size)
        self._profile_slot = np.full(size, -1, np.int64)
        self._slot: int | None = None
        self._last: tuple[float, float] | None = None
        self._first_time: float | None = None
        self._pending: dict[str, dict[int, float]] = {"linear": {}, "seasonal": {}}
        self._error = {"linear": math.nan, "seasonal": math.nan}

    def observe(self, time: float, value: float) -> TrendAnalysis | None:
        """Take one sample; the first sample of each slot closes the previous one and gets an analysis."""
        slot = int(time // self.p.slot_s)
        self._first_time = time if self._first_time is None else self._first_time
        opens = self._slot is None or slot != self._slot
        if opens and self._last is not None:
            self._close(*self._last)
        self._slot = slot
        self._last = (time, value)
        return self.analyse(time, value) if opens else None

    def _close(self, time: float, value: float) -> None:
        self._times = np.roll(self._times, -1)
        self._values = np.roll(self._values, -1)
        self._times[-1], self._values[-1] = time, value
        slot = self._slot if self._slot is not None else 0
        for model, pending in self._pending.items():
            if (predicted := pending.pop(slot, None)) is not None:
                error = abs(predicted - value)
                previous = self._error[model]
                self._error[model] = error if math.isnan(previous) else 0.9 * previous + 0.1 * error
        number = int(time // self.p.profile_slot_s)
        index = number % self._profile_slot.size
        if self._profile_slot[index] != number:
            self._profile_slot[index], self._profile_sum[index], self._profile_count[index] = number, 0.0, 0.0
        self._profile_sum[index] += value
        self._profile_count[index] += 1

    def analyse(self, now: float, value: float) -> TrendAnalysis | None:
        """The analysis at `now`, over the closed slots of the window and the sample just taken."""
        known = ~np.isnan(self._times[1:])
        if known.sum() < max(5, self.p.window_slots // 2):
            return None
        times = np.append(self._times[1:][known], now)
        values = np.append(self._values[1:][known], value)
        linear = self._linear(times, values, now)
        seasonal = self._seasonal(times, values, now)
        use_seasonal = seasonal is not None and not (self._error["seasonal"] >= 0.8 * self._error["linear"])
        return seasonal if use_seasonal and seasonal is not None else linear

    def _linear(self, times: Floats, values: Floats, now: float) -> TrendAnalysis:
        half = times.size // 2
        whole, agree = theil_sen(times, values)
        first, _ = theil_sen(times[:half], values[:half])
        second, _ = theil_sen(times[half:], values[half:])
        # noise around each half's own line: a step between the halves must not pass for noise
        early, late = values[:half] - first * times[:half], values[half:] - second * times[half:]
        noise = self._noise(np.concatenate([early - np.median(early), late - np.median(late)]))
        whole = _refined(times, values, whole, noise)
        first = _refined(times[:half], values[:half], first, noise)
        second = _refined(times[half:], values[half:], second, noise)
        half_error = noise / (float(np.std(times[half:])) * math.sqrt(times.size - half) + 1e-12)
        if max(abs(first - second), abs(whole - first), abs(whole - second)) <= 4 * half_error:  # one straight trend
            slope, recent = whole, values.size
        else:  # a step or a bend: the most cautious of the three slopes, and the level of the recent half
            slope, recent = min((whole, first, second), key=lambda s: self._sign * s), values.size - half
        level = self._level(values[-recent:] - slope * (times[-recent:] - now), noise)
        spread = float(np.std(times)) * math.sqrt(times.size)  # the slope's standard error is noise / spread
        confidence = (1 - math.exp(-abs(slope) * spread / (2 * noise))) if agree > 0.5 else 0.0
        self._remember("linear", now, level + slope * self.p.score_slots * self.p.slot_s)
        crossing = None
        if self._sign * slope > 0:
            gap = (self.p.threshold - level) / slope
            crossing = now + max(0.0, gap)
        return self._verdict(now, values[-1], slope, crossing, confidence=confidence, model="linear")

    @staticmethod
    def _level(residuals: Floats, noise: float) -> float:
        """The mean of the residuals near their median: as steady as a mean, as deaf to outliers as a median."""
        middle = float(np.median(residuals))
        near = residuals[np.abs(residuals - middle) <= 4.5 * noise]
        return float(np.mean(near)) if near.size else middle

    @staticmethod
    def _noise(residuals: Floats) -> float:
        return MAD_SCALE * float(np.median(np.abs(residuals - np.median(residuals)))) + 1e-12

    def _seasonal(self, times: Floats, values: Floats, now: float) -> TrendAnalysis | None:
        if self._first_time is None or now - self._first_time < DAY_S + self.p.window_slots * self.p.slot_s:
            return None
        yesterday = self._yesterday(times)
        if np.isnan(yesterday).any():
            return None
        drifts = values - yesterday
        drift = float(np.median(drifts))
        noise = MAD_SCALE * float(np.median(np.abs(drifts - drift))) + 1e-12
        steps = np.arange(1, int(self.p.horizon_s // self.p.slot_s) + 1, dtype=np.float64) * self.p.slot_s
        future = self._yesterday(now + steps) + drift
        self._remember(
            "seasonal", now, float(future[self.p.score_slots - 1]) if future.size >= self.p.score_slots else drift
        )
        beyond = np.nonzero(self._sign * (future - self.p.threshold) >= 0)[0]
        crossing = float(now + steps[beyond[0]]) if beyond.size else None
        margin = float(np.max(self._sign * (future - self.p.threshold))) if future.size else 0.0
        confidence = 1 - math.exp(-max(0.0, margin + 2 * noise) / (2 * noise)) if crossing is not None else 0.0
        rate = float((future[min(future.size, 5) - 1] - values[-1]) / (min(future.size, 5) * self.p.slot_s))
        return self._verdict(now, values[-1], rate, crossing, confidence=confidence, model="seasonal")

    def _yesterday(self, times: Floats) -> Floats:
        """The profile's value a day before each time (linear between profile slot centres; NaN if unseen)."""
        position = (times - DAY_S) / self.p.profile_slot_s - 0.5
        lower = np.floor(position).astype(np.int64)
        weight = position - lower
        return self._profile_at(lower) * (1 - weight) + self._profile_at(lower + 1) * weight

    def _profile_at(self, numbers: npt.NDArray[np.int64]) -> Floats:
        index = numbers % self._profile_slot.size
        seen = self._profile_slot[index] == numbers
        means = self._profile_sum[index] / np.maximum(self._profile_count[index], 1)
        return np.where(seen, means, np.nan)

    def _remember(self, model: str, now: float, predicted: float) -> None:
        slot = int(now // self.p.slot_s) + self.p.score_slots
        self._pending[model][slot] = predicted
        for stale in [s for s in self._pending[model] if s < slot - 2 * self.p.score_slots]:
            del self._pending[model][stale]

    def _verdict(
        self, now: float, value: float, slope: float, crossing: float | None, *, confidence: float, model: str
    ) -> TrendAnalysis:
        within = crossing is not None and crossing - now <= self.p.horizon_s and confidence >= self.p.min_confidence
        return TrendAnalysis(
            time=now,
            value=float(value),
            rate_per_minute=slope * 60.0,
            crossing=crossing if within else None,
            confidence=round(confidence, 4),
            model=model,
        )
