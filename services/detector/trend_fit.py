"""The fits behind a trend prediction: what one window of samples says about the next `horizon` slots.

trend.py calls these once per slot with the window's samples (`x` in slots before now, so now is 0) and
turns the `Forecast` (a value and a standard error per step of the horizon) into a crossing time and a
confidence. Two families of fit:

- `window_forecast`, from the window alone. A Huber line: as efficient as least squares under Gaussian noise
  (points within two robust sigmas keep their full weight) while an outlier's pull is capped, which is what
  lets it beat predict_linear on noisy series. Then two alternatives to the straight line, each used only
  when it stands out from the noise by `shift_z` / `bend_z` standard deviations: a level shift (a step
  somewhere in the window, with one slope either side), so a step is forecast as a new level instead of a
  steep ramp; and a bend (a parabola), used only when it curves away from the threshold, so a rise that is
  levelling off is not extrapolated into a crossing, while an accelerating one keeps the line (the later,
  more cautious forecast).
- `seasonal_forecast`, from the window and the series' daily profile (trend_profile.py): today's level
  relative to the same hours of earlier days, carried forward along their shape.

Pure numpy, no state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
MAD_SCALE = 1.4826  # median absolute deviation -> standard deviation under Gaussian noise
HUBER_K = 2.0  # in robust sigmas: ~99 % of least squares' efficiency on Gaussian noise, outliers capped
MIN_BEFORE_SHIFT = 5
MIN_AFTER_SHIFT = 3  # fewer samples past a step look like outliers, which the Huber line already ignores


@dataclass(frozen=True)
class Forecast:
    """Where a fit expects the series at each step of the horizon (0 = now), and how sure it is of each."""

    values: Floats
    errors: Floats  # standard errors of `values`
    rate: float  # per slot, now
    model: str  # linear, level-shift, bend or seasonal


@dataclass(frozen=True)
class RobustLine:
    level: float  # at x = 0
    slope: float  # per slot
    covariance: Floats  # of (level, slope)
    residuals: Floats
    scale: float  # robust standard deviation of the residuals


def _weighted_fit(design: Floats, y: Floats, weights: Floats) -> tuple[Floats, Floats]:
    """Weighted least squares: the coefficients and the inverse of X'WX."""
    weighted = design * weights[:, None]
    inverse = np.asarray(np.linalg.inv(design.T @ weighted), dtype=np.float64)
    return inverse @ (weighted.T @ y), inverse


def _robust_scale(residuals: Floats, floor: float) -> float:
    return max(MAD_SCALE * float(np.median(np.abs(residuals - np.median(residuals)))), floor)


def robust_line(x: Floats, y: Floats) -> RobustLine:
    """Huber regression by reweighted least squares, from an L1 start so that outliers cannot steer it."""
    design = np.column_stack([np.ones(x.size), x])
    floor = 1e-9 * (1.0 + float(np.mean(np.abs(y))))
    coef, _ = _weighted_fit(design, y, np.ones(x.size))
    residuals = y - design @ coef
    scale = _robust_scale(residuals, floor)
    for _ in range(3):  # least absolute deviations, approximately: weights 1/|r|
        coef, _ = _weighted_fit(design, y, 1.0 / np.maximum(np.abs(residuals), 0.5 * scale))
        residuals = y - design @ coef
    weights = np.ones(x.size)
    inverse = np.eye(2)
    for _ in range(4):
        scale = _robust_scale(residuals, floor)
        weights = np.minimum(1.0, HUBER_K * scale / np.maximum(np.abs(residuals), floor))
        coef, inverse = _weighted_fit(design, y, weights)
        residuals = y - design @ coef
    scale = _robust_scale(residuals, floor)
    return RobustLine(float(coef[0]), float(coef[1]), inverse * scale**2, residuals, scale)


def _along(coef: Floats, covariance: Floats, steps: Floats) -> tuple[Floats, Floats]:
    """A polynomial's values over the steps, and their standard errors."""
    powers = np.column_stack([steps**p for p in range(coef.size)])
    errors = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", powers, covariance, powers), 0.0))
    return powers @ coef, errors


def _best_step(x: Floats, residuals: Floats, inverse: Floats) -> tuple[float, int]:
    """Of all steps (0 before sample k, 1 from it), the one that explains most of the line's residuals.

    Returns its sum of squares explained and k. Closed form per k (suffix sums), so all k cost O(n)."""
    n = x.size
    ks = np.arange(MIN_BEFORE_SHIFT, n - MIN_AFTER_SHIFT + 1)
    if ks.size == 0:
        return 0.0, n
    after = np.arange(n, 0, -1, dtype=np.float64)[ks]
    sums = np.stack([after, np.cumsum(x[::-1])[::-1][ks]], axis=1)  # X' step, per k
    spread = after - np.einsum("ij,jk,ik->i", sums, inverse, sums)  # |step residualised on (1, x)|^2
    explained = np.cumsum(residuals[::-1])[::-1][ks] ** 2 / np.maximum(spread, 1e-12)
    best = int(np.argmax(explained))
    return float(explained[best]), int(ks[best])


def window_forecast(x: Floats, y: Floats, steps: Floats, *, toward: float, shift_z: float, bend_z: float) -> Forecast:
    """The window's own forecast: a line, or a level shift or a bend when the data insist (see module doc).

    `toward` is +1 when the threshold lies above (a rise is the danger), -1 when below."""
    line = robust_line(x, y)
    design = np.column_stack([np.ones(x.size), x])
    # outliers clipped to the Huber corner, so that the alternatives are judged on the same terms as the line
    clipped = np.clip(line.residuals, -HUBER_K * line.scale, HUBER_K * line.scale)
    cleaned = design @ np.array([line.level, line.slope]) + clipped
    # noise from successive differences: a step or a bend inflates the line's residuals, not the differences
    floor = 1e-9 * (1.0 + float(np.mean(np.abs(y))))
    noise = max(_robust_scale(np.diff(cleaned), floor) / math.sqrt(2), 0.5 * line.scale)
    inverse = np.linalg.inv(design.T @ design)
    square = x * x
    curve = square - design @ (inverse @ (design.T @ square))  # x^2 residualised on (1, x)
    bend = float(curve @ clipped) ** 2 / max(float(curve @ curve), 1e-12)
    shift, at = _best_step(x, clipped, inverse)
    if shift > (shift_z * noise) ** 2 and shift > bend:
        after = (np.arange(x.size) >= at).astype(np.float64)
        full = np.column_stack([design, after])
        coef, full_inverse = _weighted_fit(full, cleaned, np.ones(x.size))
        to_now = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # (level after the step, slope)
        values, errors = _along(to_now @ coef, to_now @ full_inverse @ to_now.T * noise**2, steps)
        return Forecast(values, errors, float(coef[1]), "level-shift")
    if bend > (bend_z * noise) ** 2:
        full = np.column_stack([design, square])
        coef, full_inverse = _weighted_fit(full, cleaned, np.ones(x.size))
        if toward * coef[2] < 0:  # curving away from the threshold: the parabola is the cautious forecast
            values, errors = _along(coef, full_inverse * noise**2, steps)
            return Forecast(values, errors, float(coef[1]), "bend")
    values, errors = _along(np.array([line.level, line.slope]), line.covariance, steps)
    return Forecast(values, errors, line.slope, "linear")


def huber_mean(values: Floats) -> tuple[float, float]:
    """A location as efficient as the mean under Gaussian noise and as deaf to outliers as a median; and the
    robust standard deviation around it."""
    floor = 1e-9 * (1.0 + float(np.mean(np.abs(values))))
    centre = float(np.median(values))
    scale = _robust_scale(values, floor)
    for _ in range(4):
        residuals = values - centre
        weights = np.minimum(1.0, HUBER_K * scale / np.maximum(np.abs(residuals), floor))
        centre = float(weights @ values / weights.sum())
    return centre, scale


@dataclass(frozen=True)
class DayShape:
    """The profile of one earlier day at the window's times and over the horizon (trend_profile.py)."""

    past: Floats
    future: Floats
    future_errors: Floats


def seasonal_forecast(y: Floats, days: list[DayShape]) -> Forecast:
    """Today's level against each earlier day's shape, carried along that shape; the days' forecasts averaged.

    A linear trend under the daily swing stays exact: today minus a day ago is then a constant."""
    values, variances = [], []
    for day in days:
        offset, scale = huber_mean(y - day.past)
        values.append(day.future + offset)
        variances.append(scale**2 / y.size + day.future_errors**2)
    mean = np.mean(values, axis=0)
    errors = np.sqrt(np.mean(variances, axis=0) / len(days))
    ahead = min(5, mean.size - 1)
    return Forecast(mean, errors, float(mean[ahead] - mean[0]) / max(ahead, 1), "seasonal")
