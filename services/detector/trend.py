"""Trend prediction for one series: when will it cross its threshold, and how sure are we?

Fed online, sample by sample (`TrendTracker.observe`); it answers once per slot (a minute by default) with a
`TrendAnalysis`: the current level, the rate of change per minute, the predicted crossing time and a
confidence in [0, 1]. Two forecasts compete (trend_fit.py), and the one whose recent forecasts came closer
wins:

- window: from the last `window_slots` slots alone, the same window predict_linear is given. A Huber line,
  or a level shift or a bend when the window insists on one.
- seasonal: once earlier days are in the series' daily profile (trend_profile.py), today's level relative
  to those days, carried along their shape, so a daily swing is expected rather than extrapolated.

Each forecast is scored against the value seen a horizon later (an exponentially weighted mean of squared
errors), which is how daily seasonality gets noticed without any per-series setting. The confidence is the
probability, under the chosen fit's standard errors, that the series is past the threshold within the
horizon; a crossing is predicted when it is at least `min_confidence` (by default: more likely than not).

Pure: no clock but the samples' own times. Used by predictions.py (the service) and `healer detect trend`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from healer_common.settings.detector import TrendSettings
from services.detector.trend_fit import Floats, Forecast, seasonal_forecast, window_forecast
from services.detector.trend_profile import DAY_S, DailyProfile

__all__ = ["DAY_S", "TrendAnalysis", "TrendParams", "TrendTracker", "trend_params"]
SCORE_WEIGHT = 0.05  # of each new forecast error: the competition remembers about the last 20 slots


@dataclass(frozen=True)
class TrendParams:
    threshold: float
    above: bool = True
    horizon_s: float = 1_800.0
    slot_s: float = 60.0
    window_slots: int = 60
    min_confidence: float = 0.5
    profile_slot_s: float = 900.0
    profile_days: int = 2
    shift_z: float = 5.0
    bend_z: float = 3.0
    withdraw_after_slots: int = 3


def trend_params(cfg: TrendSettings, *, threshold: float, above: bool = True) -> TrendParams:
    """A tracker's parameters from `detector.trend`: the service and `healer detect trend` share them."""
    return TrendParams(
        threshold=threshold,
        above=above,
        horizon_s=cfg.horizon_s,
        slot_s=cfg.slot_s,
        window_slots=cfg.window_slots,
        min_confidence=cfg.min_confidence,
        profile_slot_s=cfg.profile_slot_s,
        profile_days=cfg.profile_days,
        shift_z=cfg.shift_z,
        bend_z=cfg.bend_z,
        withdraw_after_slots=cfg.withdraw_after_slots,
    )


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


class TrendTracker:
    def __init__(self, params: TrendParams) -> None:
        self.p = params
        self._sign = 1.0 if params.above else -1.0
        self._times = np.full(params.window_slots, np.nan)
        self._values = np.full(params.window_slots, np.nan)
        self._ahead = int(params.horizon_s // params.slot_s)
        self._steps = np.arange(self._ahead + 1, dtype=np.float64)
        reach = (params.window_slots + self._ahead) * params.slot_s
        self._profile = (
            DailyProfile(slot_s=params.profile_slot_s, days=params.profile_days, reach_s=reach)
            if params.profile_days > 0
            else None
        )
        self._slot: int | None = None
        self._last: tuple[float, float] | None = None
        self._pending: dict[str, dict[int, float]] = {"window": {}, "seasonal": {}}
        self._error = {"window": math.nan, "seasonal": math.nan}
        self._standing: float | None = None  # the crossing last predicted, held until withdrawn
        self._misses = 0

    def observe(self, time: float, value: float) -> TrendAnalysis | None:
        """Take one sample; the first sample of each slot closes the previous one and gets an analysis."""
        slot = int(time // self.p.slot_s)
        opens = self._slot is None or slot != self._slot
        if opens and self._last is not None:
            self._close(*self._last)
        self._slot = slot
        self._last = (time, value)
        return self.analyse(time, value) if opens else None

    def _close(self, time: float, value: float) -> None:
        """The slot's last sample joins the window and the profile, and scores the forecasts made for it."""
        self._times = np.roll(self._times, -1)
        self._values = np.roll(self._values, -1)
        self._times[-1], self._values[-1] = time, value
        slot = self._slot if self._slot is not None else 0
        for model, pending in self._pending.items():
            if (predicted := pending.pop(slot, None)) is not None:
                error = (predicted - value) ** 2
                previous = self._error[model]
                self._error[model] = error if math.isnan(previous) else previous + SCORE_WEIGHT * (error - previous)
        if self._profile is not None:
            self._profile.add(time, value)

    def analyse(self, now: float, value: float) -> TrendAnalysis | None:
        """The analysis at `now`, over the closed slots of the window and the sample just taken."""
        known = ~np.isnan(self._times[1:])
        if known.sum() < max(5, self.p.window_slots // 2):
            return None
        times = np.append(self._times[1:][known], now)
        values = np.append(self._values[1:][known], value)
        window = window_forecast(
            (times - now) / self.p.slot_s,
            values,
            self._steps,
            toward=self._sign,
            shift_z=self.p.shift_z,
            bend_z=self.p.bend_z,
        )
        seasonal = self._seasonal(times, values, now)
        self._remember("window", now, window)
        if seasonal is not None:
            self._remember("seasonal", now, seasonal)
        chosen = seasonal if seasonal is not None and self._error["seasonal"] < self._error["window"] else window
        return self._held(self._verdict(now, value, chosen))

    def _held(self, analysis: TrendAnalysis) -> TrendAnalysis:
        """A prediction stands until `withdraw_after_slots` fits in a row see no crossing.

        One fit dipping under `min_confidence` (a noisy minute) would otherwise withdraw an alert only for the
        next fit to raise it again. Held here, not in predictions.py, so that `healer detect trend` and the
        bench report exactly what the service's alerts say."""
        if analysis.crossing is not None:
            self._standing, self._misses = analysis.crossing, 0
            return analysis
        if self._standing is None:
            return analysis
        self._misses += 1
        if self._misses >= self.p.withdraw_after_slots:
            self._standing = None
            return analysis
        return replace(analysis, crossing=max(self._standing, analysis.time))

    def _seasonal(self, times: Floats, values: Floats, now: float) -> Forecast | None:
        if self._profile is None:
            return None
        future = now + self._steps * self.p.slot_s
        days = [self._profile.shape(times, future, k) for k in range(1, self.p.profile_days + 1)]
        known = [day for day in days if day is not None]
        return seasonal_forecast(values, known) if known else None

    def _remember(self, model: str, now: float, forecast: Forecast) -> None:
        """Keep the forecast for the horizon's end, to be scored when that slot closes."""
        slot = int(now // self.p.slot_s) + self._ahead
        pending = self._pending[model]
        pending[slot] = float(forecast.values[-1])
        for stale in [s for s in pending if s < slot - 2 * self._ahead]:  # slots that never closed (gaps)
            del pending[stale]

    def _verdict(self, now: float, value: float, forecast: Forecast) -> TrendAnalysis:
        """The first step past the threshold (interpolated between steps), and the chance it is crossed."""
        margin = self._sign * (forecast.values - self.p.threshold)
        beyond = np.nonzero(margin >= 0)[0]
        crossing = None
        if beyond.size:
            i = int(beyond[0])
            step = 0.0 if i == 0 else i - 1 + float(-margin[i - 1] / (margin[i] - margin[i - 1]))
            crossing = now + step * self.p.slot_s
        nearest = int(np.argmax(margin))
        z = float(margin[nearest]) / max(float(forecast.errors[nearest]), 1e-12)
        confidence = 0.5 * math.erfc(-z / math.sqrt(2))  # the normal distribution's P(past the threshold)
        return TrendAnalysis(
            time=now,
            value=float(value),
            rate_per_minute=forecast.rate * 60.0 / self.p.slot_s,
            crossing=crossing if confidence >= self.p.min_confidence else None,
            confidence=round(confidence, 4),
            model=forecast.model,
        )
