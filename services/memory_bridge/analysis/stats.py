"""The little statistics the analysis needs, with no dependency beyond numpy: tail probabilities of the
binomial, Poisson and normal distributions (how surprising a count or a level is), a robust centre and
spread, and a robust trend (Theil-Sen). Pure.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

MAX_TREND_POINTS = 240


def binomial_sf(successes: int, trials: int, p: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, p)."""
    if successes <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(trials + 1) - math.lgamma(k + 1) - math.lgamma(trials - k + 1) + k * log_p + (trials - k) * log_q
        for k in range(successes, trials + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def poisson_sf(count: int, mean: float) -> float:
    """P(X >= count) for X ~ Poisson(mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    below = sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(count))
    return max(0.0, min(1.0, 1.0 - below))


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def robust_centre_spread(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Median and the MAD scaled to a standard deviation (1.4826 MAD), floored so a flat series has spread."""
    centre = float(np.median(values))
    spread = 1.4826 * float(np.median(np.abs(values - centre)))
    return centre, max(spread, 1e-3 * max(abs(centre), 1.0))


def theil_sen(times: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Slope and intercept of the median of pairwise slopes: one spike or outage does not bend the line."""
    if len(times) > MAX_TREND_POINTS:
        pick = np.linspace(0, len(times) - 1, MAX_TREND_POINTS).astype(int)
        times, values = times[pick], values[pick]
    i, j = np.triu_indices(len(times), k=1)
    dt = times[j] - times[i]
    usable = dt > 0
    if not usable.any():
        return 0.0, float(np.median(values)) if len(values) else 0.0
    slope = float(np.median((values[j] - values[i])[usable] / dt[usable]))
    intercept = float(np.median(values - slope * times))
    return slope, intercept


def beta_mean(successes: float, failures: float) -> float:
    """Posterior mean under a uniform prior: (1 + s) / (2 + s + f)."""
    return (1 + successes) / (2 + successes + failures)


def wilson_bounds(successes: int, trials: int, z: float = 1.645) -> tuple[float, float]:
    """The 90 % Wilson interval of a success rate."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)
