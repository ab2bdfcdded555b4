"""Synthetic series with known threshold crossings, for judging trend predictions (bench/trend.py and the
cross-validation in bench/detector_quality.py).

Threshold 80, a sample about a minute apart. Kinds that cross: steady, noisy (noise and outliers), daily
seasonal, a level shift then a fill, irregular sampling, gaps in the data, a fill after a reset (a pod
restarted, a counter wrapped), and a slow leak whose noise is larger than its slope. Kinds that never cross:
flat, flat with outliers, a daily swing peaking below, a level shift that stays below, a slow wobble, a
saw-tooth of fills each reset before the threshold (a leaking pod restarted in time), steps that stay below,
and a saturation curving in just under the threshold. A crossing series' true crossing is when its
noise-free signal first reaches the threshold; the series ends an hour after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

THRESHOLD = 80.0
MINUTE = 60.0
DAY = 86_400.0
HOUR = 3_600.0
Array = np.ndarray


@dataclass
class Synthetic:
    kind: str
    times: Array
    values: Array
    crossing: float | None  # when the noise-free signal first reaches the threshold


def _first_crossing(times: Array, clean: Array) -> float | None:
    beyond = np.nonzero(clean >= THRESHOLD)[0]
    return float(times[beyond[0]]) if beyond.size else None


def _shapes(t: Array, rng: np.random.Generator) -> dict[str, Callable[[], Array]]:
    hours = t / HOUR
    end = max(float(t[-1]), HOUR) if t.size else HOUR
    cross_at = rng.uniform(0.55, 0.9) * end
    daily = np.sin(2 * np.pi * (t / DAY - 0.3))
    fill = 40 + 40 * t / cross_at
    reset_at = rng.uniform(0.3, 0.45) * end
    tooth = 3 * HOUR * rng.uniform(0.8, 1.2)
    return {
        "steady_fill": lambda: fill,
        "noisy_fill": lambda: fill,
        "seasonal_fill": lambda: 50 + 12 * daily + 24 * t / (3 * DAY),
        "shift_then_fill": lambda: (
            np.where(hours < 6, 50, 60) + np.clip((t - cross_at + 6 * HOUR) / (6 * HOUR), 0, 9) * 20
        ),
        "irregular_fill": lambda: fill,
        "gappy_fill": lambda: fill,
        "reset_then_fill": lambda: np.where(
            t < reset_at, 45 + 25 * t / reset_at, 30 + 50 * (t - reset_at) / (cross_at - reset_at)
        ),
        "slow_leak": lambda: 55 + 25 * t / cross_at,
        "flat": lambda: np.full(t.size, 60 + rng.uniform(-10, 10)),
        "flat_outliers": lambda: np.full(t.size, 55.0),
        "seasonal_below": lambda: 55 + 19 * daily,
        "shift_below": lambda: np.where(hours < 10, 45, 72.0),
        "wobble": lambda: 65 + 12 * np.sin(2 * np.pi * t / (5 * HOUR)),
        "sawtooth_below": lambda: 40 + 36 * ((t + rng.uniform(0, tooth)) % tooth) / tooth,
        "steps_below": lambda: 50 + 8 * np.floor(np.clip(hours - 4, 0, None) / 5).clip(0, 3),
        "saturation_below": lambda: 78 - 38 * np.exp(-t / (rng.uniform(3, 6) * HOUR)),
    }


KINDS = tuple(_shapes(np.zeros(2), np.random.default_rng(0)))
NOISE = {"noisy_fill": 2.0, "flat_outliers": 1.0, "wobble": 0.8, "slow_leak": 3.0, "sawtooth_below": 0.6}
SPIKY = {"noisy_fill", "flat_outliers"}


def _clock(kind: str, rng: np.random.Generator) -> Array:
    """Sample times: a minute apart, or irregular (20 s to 2 min), or with gaps of 10 to 40 minutes."""
    days = 3.0 if "season" in kind else 1.0
    if kind == "irregular_fill":
        return np.cumsum(rng.uniform(20, 120, int(days * DAY / 70)))
    t = np.arange(0, days * DAY, MINUTE)
    if kind == "gappy_fill":
        keep = np.ones(t.size, dtype=bool)
        for start in rng.choice(t.size, 12, replace=False):
            keep[start : start + rng.integers(10, 40)] = False
        t = t[keep]
    return t


def make(kind: str, rng: np.random.Generator) -> Synthetic:
    t = _clock(kind, rng)
    clean = _shapes(t, rng)[kind]()
    values = clean + rng.normal(0, NOISE.get(kind, 0.4), t.size)
    if kind in SPIKY:
        spikes = rng.random(t.size) < 0.01
        values[spikes] += rng.choice([-20.0, 20.0], spikes.sum())
    crossing = _first_crossing(t, clean)
    if crossing is not None:
        keep = t <= crossing + HOUR
        t, values = t[keep], values[keep]
    return Synthetic(kind, t, values, crossing)
