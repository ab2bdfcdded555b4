"""Trend prediction for one series: when will it cross its threshold, and how sure are we?

Fed online, sample by sample (`TrendTracker.observe`); it answers once per slot (a minute by default) with a
`TrendAnalysis`: the current level, the rate of change per minute, the predicted crossing time and a
confidence in [0, 1]. Several forecasts (trend_fit.py) compete on the series' own recent past: each slot's
forecast for the horizon's end is compared with the value then seen (an exponentially weighted mean of
squared errors, beyond the samples' own noise, which no forecast can remove). The models:

- long: a Huber line through `LONG_WINDOWS` windows of history, restarted where the series turned or
  stepped. The default once it has been scored: a steady trend's slope is known far better from four
  windows than from one (its error falls as the window's length to the power 1.5).
- shape: the same from the last `window_slots` slots alone, the window predict_linear is given (the default
  until the long model has been scored).
- linear: the Huber line through that window, nothing more.
- seasonal: once earlier days are in the series' daily profile (trend_profile.py), today's level relative
  to those days, carried along their shape.

Any model replaces the default only when its recent error is `select_margin` below the default's: a daily
profile is used only when the series shows one, and a plain line takes over when the richer fits have been
doing worse. The confidence is the probability that the series is past the threshold within the horizon,
under the chosen model's recent forecast errors (scaled down for nearer steps, never below the fit's own
standard errors) times `error_scale`; a crossing is predicted when it is at least `min_confidence`. The
defaults of `error_scale` and `min_confidence` were chosen by cross-validation over generated series
(bench/detector_quality.py).

Pure: no clock but the samples' own times. Used by predictions.py (the service) and `healer detect trend`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from healer_common.settings.detector import TrendSettings
from services.detector.trend_fit import (
    Floats,
    Forecast,
    line_forecast,
    noise,
    robust_line,
    seasonal_forecast,
    window_forecast,
)
from services.detector.trend_profile import DAY_S, DailyProfile

__all__ = ["DAY_S", "TrendAnalysis", "TrendParams", "TrendTracker", "trend_params"]
SCORE_WEIGHT = 0.05  # of each new forecast error: the competition remembers about the last 20 slots
LONG_WINDOWS = 4  # the long model's history, in windows
MIN_SCORED = 5  # forecasts of a model scored before its error is trusted against the line's
MODELS = ("linear", "shape", "long", "seasonal")
RHYTHM = 0.5  # a day repeats when its day-ago differences spread less than half its half-day-ago ones


@dataclass(frozen=True)
class TrendParams:
    threshold: float
    above: bool = True
    horizon_s: float = 1_800.0
    slot_s: float = 60.0
    window_slots: int = 60
    min_confidence: float = 0.7
    profile_slot_s: float = 900.0
    profile_days: int = 2
    shift_z: float = 5.0
    bend_z: float = 3.0
    withdraw_after_slots: int = 3
    select_margin: float = 0.1
    error_scale: float = 2.0


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
        select_margin=cfg.select_margin,
        error_scale=cfg.error_scale,
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
        self._times = np.full(LONG_WINDOWS * params.window_slots, np.nan)
        self._values = np.full(LONG_WINDOWS * params.window_slots, np.nan)
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
        self._pending: dict[str, dict[int, float]] = {model: {} for model in MODELS}
        self._error = dict.fromkeys(MODELS, math.nan)
        self._scored = dict.fromkeys(MODELS, 0)
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
        """The slot's last sample joins the history and the profile, and scores the forecasts made for it."""
        self._times = np.roll(self._times, -1)
        self._values = np.roll(self._values, -1)
        self._times[-1], self._values[-1] = time, value
        slot = self._slot if self._slot is not None else 0
        for model, pending in self._pending.items():
            if (predicted := pending.pop(slot, None)) is not None:
                error = (predicted - value) ** 2
                previous = self._error[model]
                self._error[model] = error if math.isnan(previous) else previous + SCORE_WEIGHT * (error - previous)
                self._scored[model] += 1
        if self._profile is not None:
            self._profile.add(time, value)

    def analyse(self, now: float, value: float) -> TrendAnalysis | None:
        """The analysis at `now`, over the closed slots of the history and the sample just taken."""
        chosen = self.forecast(now, value)
        return None if chosen is None else self.judge(now, value, *chosen)

    def forecast(self, now: float, value: float) -> tuple[Forecast, float] | None:
        """The chosen model's forecast at `now` and that model's recent error (None before enough history).

        Everything that learns from the series happens here; `judge` only reads the forecast, so one pass of
        forecasts can be judged under several `error_scale` and `min_confidence` settings."""
        known = ~np.isnan(self._times[1:])
        known[: -self.p.window_slots + 1] = False
        if known.sum() < max(5, self.p.window_slots // 2):
            return None
        forecasts = self._forecasts(now, value, known)
        for model, forecast in forecasts.items():
            self._remember(model, now, forecast)
        chosen = self._chosen(forecasts, noise(self._values[1:][known]))
        return forecasts[chosen], math.sqrt(self._error[chosen])

    def judge(self, now: float, value: float, forecast: Forecast, recent_error: float) -> TrendAnalysis:
        """The verdict on a forecast under this tracker's `error_scale` and `min_confidence`, held as alerts are."""
        return self._held(self._verdict(now, value, forecast, recent_error))

    def _forecasts(self, now: float, value: float, recent: npt.NDArray[np.bool_]) -> dict[str, Forecast]:
        """Every model's forecast over the horizon (see the module's docstring)."""
        times = np.append(self._times[1:][recent], now)
        values = np.append(self._values[1:][recent], value)
        x = (times - now) / self.p.slot_s
        line = robust_line(x, values)
        found = {
            "linear": line_forecast(line, self._steps),
            "shape": window_forecast(
                x, values, self._steps, toward=self._sign, shift_z=self.p.shift_z, bend_z=self.p.bend_z, line=line
            ),
        }
        history = ~np.isnan(self._times[1:])
        if history.sum() >= 2 * self.p.window_slots:
            long_x = (np.append(self._times[1:][history], now) - now) / self.p.slot_s
            long_values = np.append(self._values[1:][history], value)
            found["long"] = window_forecast(
                long_x, long_values, self._steps, toward=self._sign, shift_z=self.p.shift_z, bend_z=self.p.bend_z
            )
        seasonal = self._seasonal(times, values, now)
        if seasonal is not None:
            found["seasonal"] = seasonal
        return found

    def _chosen(self, forecasts: dict[str, Forecast], noise_sd: float) -> str:
        """The window's own model unless another's recent errors are `select_margin` below its own.

        Errors are compared beyond the samples' own noise, which every forecast of a noisy series suffers
        alike: what a model can improve on is the rest."""
        floor = noise_sd**2

        def beyond_noise(model: str) -> float:
            return max(self._error[model] - floor, 0.0)

        best = "long" if "long" in forecasts and self._scored["long"] >= MIN_SCORED else "shape"
        for model in forecasts:
            trusted = self._scored[model] >= MIN_SCORED and not math.isnan(self._error[model])
            comparable = trusted and not math.isnan(self._error[best])
            if comparable and beyond_noise(model) < (1 - self.p.select_margin) * beyond_noise(best):
                best = model
        return best

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
        """The profile's forecast, when the series repeats its days (see DailyProfile.rhythm)."""
        if self._profile is None or not self._profile.rhythm() < RHYTHM:
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

    def _verdict(self, now: float, value: float, forecast: Forecast, recent_error: float) -> TrendAnalysis:
        """The first step past the threshold (interpolated between steps), and the chance it is crossed.

        Each step's uncertainty is the fit's own standard error or the model's recent error at the horizon
        (scaled down with the square root of the lead time), whichever is larger, times `error_scale`."""
        margin = self._sign * (forecast.values - self.p.threshold)
        beyond = np.nonzero(margin >= 0)[0]
        crossing = None
        if beyond.size:
            i = int(beyond[0])
            step = 0.0 if i == 0 else i - 1 + float(-margin[i - 1] / (margin[i] - margin[i - 1]))
            crossing = now + step * self.p.slot_s
        lead = np.sqrt(self._steps / max(self._ahead, 1))
        empirical = 0.0 if math.isnan(recent_error) else recent_error
        errors = self.p.error_scale * np.maximum(forecast.errors, empirical * lead)
        z = float(np.max(margin / np.maximum(errors, 1e-12)))
        confidence = 0.5 * math.erfc(-z / math.sqrt(2))  # the normal distribution's P(past the threshold)
        return TrendAnalysis(
            time=now,
            value=float(value),
            rate_per_minute=forecast.rate * 60.0 / self.p.slot_s,
            crossing=crossing if confidence >= self.p.min_confidence else None,
            confidence=round(confidence, 4),
            model=forecast.model,
        )
