"""Trend prediction against Prometheus' predict_linear on synthetic series with known crossing times.

    python bench/trend.py [--per-kind 6] [--seed 7]

Series (one sample a minute, threshold 80) of nine kinds: steady fills, noisy fills (noise and outliers),
fills under daily seasonality, a level shift then a fill; and never-crossing ones: flat, flat with outliers,
daily seasonality peaking below the threshold, a level shift that stays below, a slow wobble. A crossing
series' true crossing is when its noise-free signal first reaches the threshold.

Both predictors see the same samples online and the same window (60 minutes); predict_linear is ordinary
least squares over that window evaluated now, as Prometheus computes it, and predicts when the line reaches
the threshold within the 30-minute horizon. Ours is services/detector/trend.py, the code the service runs.

Figures: on crossing series, over the last 30 minutes before each crossing, the median absolute error of the
predicted crossing time (minutes) and the share of those minutes with a prediction; on never-crossing series,
the share of minutes with a (false) prediction; and predictions more than a horizon early on crossing series.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from services.detector.trend import TrendParams, TrendTracker

THRESHOLD = 80.0
HORIZON_S = 1_800.0
WINDOW_S = 3_600.0
MINUTE = 60.0
DAY = 86_400.0


@dataclass
class Synthetic:
    kind: str
    times: np.ndarray
    values: np.ndarray
    crossing: float | None  # when the noise-free signal first reaches the threshold


def _first_crossing(times: np.ndarray, clean: np.ndarray) -> float | None:
    beyond = np.nonzero(clean >= THRESHOLD)[0]
    return float(times[beyond[0]]) if beyond.size else None


def make(kind: str, rng: np.random.Generator) -> Synthetic:
    days = 3.0 if "season" in kind else 1.0
    t = np.arange(0, days * DAY, MINUTE)
    hours = t / 3600
    cross_at = rng.uniform(0.55, 0.9) * t[-1]
    daily = np.sin(2 * np.pi * (t / DAY - 0.3))
    shapes: dict[str, Callable[[], np.ndarray]] = {
        "steady_fill": lambda: 40 + 40 * t / cross_at,
        "noisy_fill": lambda: 40 + 40 * t / cross_at,
        "seasonal_fill": lambda: 50 + 12 * daily + 24 * t / (3 * DAY),
        "shift_then_fill": lambda: (
            np.where(hours < 6, 50, 60) + np.clip((t - cross_at + 6 * 3600) / (6 * 3600), 0, 9) * 20
        ),
        "flat": lambda: np.full(t.size, 60 + rng.uniform(-10, 10)),
        "flat_outliers": lambda: np.full(t.size, 55.0),
        "seasonal_below": lambda: 55 + 19 * daily,
        "shift_below": lambda: np.where(hours < 10, 45, 72.0),
        "wobble": lambda: 65 + 12 * np.sin(2 * np.pi * t / (5 * 3600)),
    }
    clean = shapes[kind]()
    noise = {"noisy_fill": 2.0, "flat_outliers": 1.0, "wobble": 0.8}.get(kind, 0.4)
    values = clean + rng.normal(0, noise, t.size)
    if kind in {"noisy_fill", "flat_outliers"}:
        spikes = rng.random(t.size) < 0.01
        values[spikes] += rng.choice([-20.0, 20.0], spikes.sum())
    crossing = _first_crossing(t, clean)
    if crossing is not None:  # the series ends an hour after it crosses
        keep = t <= crossing + 3600
        t, values = t[keep], values[keep]
    return Synthetic(kind, t, values, crossing)


def predict_linear(times: np.ndarray, values: np.ndarray) -> list[float | None]:
    """Prometheus predict_linear(v[window], horizon): OLS over the window, extrapolated from now."""
    out: list[float | None] = []
    for i, now in enumerate(times):
        start = np.searchsorted(times, now - WINDOW_S, side="right")
        x, y = times[start : i + 1] - now, values[start : i + 1]
        if x.size < 2:
            out.append(None)
            continue
        slope, intercept = np.polyfit(x, y, 1)
        if intercept >= THRESHOLD:
            out.append(now)
        elif slope > 0 and (THRESHOLD - intercept) / slope <= HORIZON_S:
            out.append(now + (THRESHOLD - intercept) / slope)
        else:
            out.append(None)
    return out


def robust(times: np.ndarray, values: np.ndarray) -> list[float | None]:
    tracker = TrendTracker(TrendParams(threshold=THRESHOLD, horizon_s=HORIZON_S, window_slots=int(WINDOW_S / MINUTE)))
    out: list[float | None] = []
    last: float | None = None
    for now, value in zip(times, values, strict=True):
        analysis = tracker.observe(float(now), float(value))
        if analysis is not None:
            last = analysis.crossing
        out.append(last)
    return out


@dataclass
class Score:
    errors: list[float]
    covered: int = 0
    eligible: int = 0
    false: int = 0
    quiet_minutes: int = 0
    early: int = 0

    def report(self, name: str) -> None:
        median = statistics.median(self.errors) / 60 if self.errors else math.nan
        print(f"trend_{name}_median_crossing_error {median:.3g} minutes")
        print(f"trend_{name}_coverage_last_30min {self.covered / max(1, self.eligible):.3g} share")
        print(f"trend_{name}_false_predictions {self.false / max(1, self.quiet_minutes):.4g} share of minutes")
        print(f"trend_{name}_false_prediction_minutes {self.false} minutes")
        print(f"trend_{name}_early_predictions {self.early} minutes")


def score(series: list[Synthetic], predictor: Callable[[np.ndarray, np.ndarray], list[float | None]]) -> Score:
    result = Score(errors=[])
    for s in series:
        predictions = predictor(s.times, s.values)
        for now, predicted in zip(s.times, predictions, strict=True):
            if now < WINDOW_S:
                continue
            if s.crossing is None:
                result.quiet_minutes += 1
                result.false += predicted is not None
            elif s.crossing - HORIZON_S <= now < s.crossing:
                result.eligible += 1
                if predicted is not None:
                    result.covered += 1
                    result.errors.append(abs(predicted - s.crossing))
            elif now < s.crossing - HORIZON_S and predicted is not None and predicted < s.crossing - HORIZON_S:
                result.early += 1
    return result


def main(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    kinds = [
        "steady_fill",
        "noisy_fill",
        "seasonal_fill",
        "shift_then_fill",
        "flat",
        "flat_outliers",
        "seasonal_below",
        "shift_below",
        "wobble",
    ]
    series = [make(kind, rng) for kind in kinds for _ in range(args.per_kind)]
    print(f"trend_series {len(series)} series")
    for name, predictor in (("predict_linear", predict_linear), ("healer", robust)):
        score(series, predictor).report(name)
    if args.per_kind_report:
        for kind in kinds:
            chosen = [s for s in series if s.kind == kind]
            for name, predictor in (("predict_linear", predict_linear), ("healer", robust)):
                print(f"# {kind}")
                score(chosen, predictor).report(name)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=6, help="series of each kind")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the synthetic series")
    parser.add_argument("--per-kind-report", action="store_true", help="also print figures per kind")
    sys.exit(main(parser.parse_args()))
