"""The fits behind a trend prediction (trend_fit.py) and the tracker's hysteresis, case by case: an outlier
does not steer the line, a step is forecast as a new level and not as a ramp, a rise that levels off is not
extrapolated, a flat series forecasts no crossing, and a prediction is withdrawn only once the turn holds.
"""

from __future__ import annotations

import numpy as np

from services.detector.trend import TrendParams, TrendTracker
from services.detector.trend_fit import robust_line, window_forecast

X = np.arange(-59, 1, dtype=np.float64)  # a 60-slot window, now at 0
STEPS = np.arange(31, dtype=np.float64)  # a 30-slot horizon


def forecast(y: np.ndarray, toward: float = 1.0) -> tuple[str, np.ndarray, np.ndarray]:
    f = window_forecast(X, y, STEPS, toward=toward, shift_z=5.0, bend_z=3.0)
    return f.model, f.values, f.errors


def test_outliers_do_not_steer_the_line_where_least_squares_follows_them() -> None:
    rng = np.random.default_rng(11)
    y = 60 + 0.1 * X + rng.normal(0, 0.3, X.size)
    y[-3:] += 25.0  # three spikes at the end, where least squares' leverage on "now" is largest

    line = robust_line(X, y)
    _, ols_level = np.polyfit(X, y, 1)

    assert abs(line.slope - 0.1) < 0.01
    assert abs(line.level - 60) < 0.3
    assert abs(ols_level - 60) > 2  # what predict_linear would have extrapolated from


def test_a_step_in_the_window_is_forecast_as_the_new_level_not_as_a_ramp() -> None:
    rng = np.random.default_rng(12)
    y = np.where(X < -20, 50.0, 70.0) + rng.normal(0, 0.3, X.size)

    model, values, _ = forecast(y)

    assert model == "level-shift"
    assert abs(values[-1] - 70) < 1.0  # a line through the step would climb about 15 more in 30 slots


def test_a_rise_levelling_off_is_not_extrapolated_but_an_accelerating_one_keeps_the_line() -> None:
    rng = np.random.default_rng(13)
    levelling = 70 - 0.004 * X**2 + rng.normal(0, 0.2, X.size)  # climbing, slowing to a stop now
    accelerating = 70 + 0.004 * (X + 59) ** 2 - 0.004 * 59**2 + rng.normal(0, 0.2, X.size)

    model, values, _ = forecast(levelling)
    accelerating_model, _, _ = forecast(accelerating)

    assert model == "bend"
    assert values[-1] < 71
    assert accelerating_model == "linear"  # the line is the later, more cautious forecast of a crossing


def test_a_flat_noisy_series_forecasts_no_move_and_says_how_unsure_that_is() -> None:
    rng = np.random.default_rng(14)
    y = 65 + rng.normal(0, 1.0, X.size)

    model, values, errors = forecast(y)

    assert model == "linear"
    assert np.all(np.abs(values - 65) < 2.5)
    assert errors[-1] > errors[0]  # the further ahead, the less sure


def test_a_prediction_is_held_through_a_noisy_minute_and_withdrawn_when_the_turn_holds() -> None:
    tracker = TrendTracker(TrendParams(threshold=80.0, withdraw_after_slots=3, profile_days=0))
    minutes = np.arange(120)
    values = np.where(minutes < 90, 40 + 0.4 * minutes, 76 - 0.4 * (minutes - 90))  # rises to 76, then falls
    crossings: dict[int, float | None] = {}
    for minute, value in zip(minutes.tolist(), values.tolist(), strict=True):
        if (analysis := tracker.observe(minute * 60.0, value)) is not None:
            crossings[minute] = analysis.crossing

    assert all(crossings[m] is not None for m in range(80, 91))  # climbing 0.4/min: 80 % within the horizon
    withdrawn = min(m for m in crossings if m > 90 and crossings[m] is None)
    assert withdrawn >= 93  # held for two fits after the turn at least, not dropped at the first doubt
    assert all(crossings[m] is None for m in crossings if m >= withdrawn)
