"""The fits behind a trend prediction: what one window of samples says about the next `horizon` slots.

trend.py calls these once per slot with the window's samples (`x` in slots before now, so now is 0) and
turns the `Forecast` (a value and a standard error per step of the horizon) into a crossing time and a
confidence. Two families of fit:

- `window_forecast`, from the window alone. A Huber line: as efficient as least squares under Gaussian noise
  (points within two robust sigmas keep their full weight) while an outlier's pull is capped, which is what
  lets it beat predict_linear on noisy series. Then three alternatives to the straight line, each used only
  when it stands out from the noise by `shift_z` / `bend_z` standard deviations (judged on the window with
  its spikes capped against their neighbours, not against the line, which would flatten a change):
  a turn (the slope changed: the fit restarts at the change point and forecasts from what came after it,
  so a fill that stopped or reversed is withdrawn within minutes, not once the window has forgotten it);
  a level shift (a step somewhere in the window, one slope throughout), so a step is forecast as a new level
  instead of a steep ramp; and a bend (a parabola), used only when it curves away from the threshold, so a
  rise that is levelling off is not extrapolated into a crossing, while an accelerating one keeps the line
  (the later, more cautious forecast).
- `seasonal_forecast`, from the window and the series' daily profile (trend_profile.py): today's level
  relative to the same hours of earlier days, carried forward along their shape.

Pure numpy, no state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

Floats = npt.NDArray[np.float64]
MAD_SCALE = 1.4826  # median absolute deviation -> standard deviation under Gaussian noise
HUBER_K = 2.0  # in robust sigmas: ~99 % of least squares' efficiency on Gaussian noise, outliers capped
MIN_BEFORE_SHIFT = 5
MIN_AFTER_SHIFT = 3  # fewer samples past a step look like outliers, which the Huber line already ignores
MIN_AFTER_TURN = 6  # a new slope from fewer samples is mostly noise (and a spike at the end looks like one)


@dataclass(frozen=True)
class Forecast:
    """Where a fit expects the series at each step of the horizon (0 = now), and how sure it is of each."""

    values: Floats
    errors: Floats  # standard errors of `values`
    rate: float  # per slot, now
    model: str  # linear, level-shift, turn, bend or seasonal


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


def median(values: Floats) -> float:
    """The median of a 1-d array by partition: np.median's generality costs more than the fits it serves."""
    n = values.size
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, [half - 1, half])[half - 1 : half + 1]
    return float(low + high) / 2


def _robust_scale(residuals: Floats, floor: float) -> float:
    return max(MAD_SCALE * median(np.abs(residuals - median(residuals))), floor)


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


def _best_step(x: Floats, residuals: Floats, inverse: Floats, min_after: int = MIN_AFTER_SHIFT) -> tuple[float, int]:
    """Of all steps (0 before sample k, 1 from it), the one that explains most of the line's residuals.

    Returns its sum of squares explained and k. Closed form per k (suffix sums), so all k cost O(n)."""
    n = x.size
    ks = np.arange(MIN_BEFORE_SHIFT, n - min_after + 1)
    if ks.size == 0:
        return 0.0, n
    after = np.arange(n, 0, -1, dtype=np.float64)[ks]
    sums = np.stack([after, np.cumsum(x[::-1])[::-1][ks]], axis=1)  # X' step, per k
    spread = after - np.einsum("ij,jk,ik->i", sums, inverse, sums)  # |step residualised on (1, x)|^2
    explained = np.cumsum(residuals[::-1])[::-1][ks] ** 2 / np.maximum(spread, 1e-12)
    best = int(np.argmax(explained))
    return float(explained[best]), int(ks[best])


def _despiked(y: Floats, trend: Floats) -> tuple[Floats, float]:
    """The window with each sample's distance from its neighbours' median capped at the Huber corner, and the
    noise's standard deviation from successive differences.

    An outlier is a sample unlike its neighbours, a step or a turn is not: capping against the fitted line
    instead would flatten the very change the alternatives look for. The neighbours are compared after the
    `trend` is taken out, so the window's ends (mirrored for their missing neighbours) do not lag a slope.
    Successive differences are likewise unmoved by a step or a bend, which inflate the line's residuals."""
    floor = 1e-9 * (1.0 + float(np.mean(np.abs(y))))
    noise = _robust_scale(np.diff(y), floor) / math.sqrt(2)
    residuals = y - trend
    local = np.median(sliding_window_view(np.pad(residuals, 2, mode="reflect"), 5), axis=1)
    return trend + local + np.clip(residuals - local, -HUBER_K * noise, HUBER_K * noise), noise


def noise(y: Floats) -> float:
    """The samples' own noise, as a standard deviation: from successive differences, which a trend, a step
    or a bend barely moves (a difference of two noisy samples has twice the variance of one)."""
    if y.size < 3:
        return 0.0
    steps = np.diff(y)
    return MAD_SCALE * median(np.abs(steps - median(steps))) / math.sqrt(2)


def _line_rss(sums: list[Floats]) -> Floats:
    """Residual sum of squares of least squares lines, from their sums of (1, x, y, xx, xy, yy)."""
    count, sx, sy, sxx, sxy, syy = sums
    vxx = sxx - sx * sx / count
    vxy = sxy - sx * sy / count
    return np.maximum(syy - sy * sy / count - vxy * vxy / np.maximum(vxx, 1e-12), 0.0)


def _best_break(x: Floats, y: Floats) -> tuple[float, int]:
    """Of all splits into two unrelated lines (before sample k, from it), the one that explains most.

    Returns the sum of squares it explains beyond one line, and k. Prefix sums make all k cost O(n)."""
    n = x.size
    ks = np.arange(MIN_BEFORE_SHIFT, n - MIN_AFTER_TURN + 1)
    if ks.size == 0:
        return 0.0, n
    centred = y - median(y)  # sums of squares of raw values would lose the digits that matter
    prefix = [np.concatenate([[0.0], np.cumsum(v)]) for v in (np.ones(n), x, centred, x * x, x * centred, centred**2)]
    whole = float(_line_rss([p[-1:] for p in prefix])[0])
    split = _line_rss([p[ks] for p in prefix]) + _line_rss([p[-1] - p[ks] for p in prefix])
    best = int(np.argmin(split))
    return whole - float(split[best]), int(ks[best])


def line_forecast(line: RobustLine, steps: Floats) -> Forecast:
    """The Huber line alone."""
    values, errors = _along(np.array([line.level, line.slope]), line.covariance, steps)
    return Forecast(values, errors, line.slope, "linear")


def window_forecast(
    x: Floats, y: Floats, steps: Floats, *, toward: float, shift_z: float, bend_z: float, line: RobustLine | None = None
) -> Forecast:
    """The window's own forecast: a line, or a level shift or a bend when the data insist (see module doc).

    `toward` is +1 when the threshold lies above (a rise is the danger), -1 when below; `line`, the window's
    Huber line when the caller has it already."""
    line = line or robust_line(x, y)
    design = np.column_stack([np.ones(x.size), x])
    cleaned, noise = _despiked(y, line.level + line.slope * x)
    inverse = np.linalg.inv(design.T @ design)
    clipped = cleaned - design @ (inverse @ (design.T @ cleaned))  # least squares' residuals, despiked
    square = x * x
    curve = square - design @ (inverse @ (design.T @ square))  # x^2 residualised on (1, x)
    bend = float(curve @ clipped) ** 2 / max(float(curve @ curve), 1e-12)
    shift, at = _best_step(x, clipped, inverse)
    turn, since = _best_break(x, cleaned)
    newest_step, _ = _best_step(x, clipped, inverse, min_after=1)  # a step too new to use is still no turn
    if turn - max(newest_step, bend) > (shift_z * noise) ** 2:
        # the slope changed too: restart the fit at the change, and forecast from what came after it alone
        recent = design[since:]
        coef, recent_inverse = _weighted_fit(recent, cleaned[since:], np.ones(recent.shape[0]))
        values, errors = _along(coef, recent_inverse * noise**2, steps)
        return Forecast(values, errors, float(coef[1]), "turn")
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
    return line_forecast(line, steps)


def huber_mean(values: Floats) -> tuple[float, float]:
    """A location as efficient as the mean under Gaussian noise and as deaf to outliers as a median; and the
    robust standard deviation around it."""
    floor = 1e-9 * (1.0 + float(np.mean(np.abs(values))))
    centre = median(values)
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
