"""Trend prediction against Prometheus' predict_linear on synthetic series with known crossing times.

    python bench/trend.py [--per-kind 8] [--seeds 1 2 3] [--without-profile]

Series (one sample a minute, threshold 80) of nine kinds: steady fills, noisy fills (noise and outliers),
fills under daily seasonality, a level shift then a fill; and never-crossing ones: flat, flat with outliers,
daily seasonality peaking below the threshold, a level shift that stays below, a slow wobble. A crossing
series' true crossing is when its noise-free signal first reaches the threshold.

Both predictors see the same samples online and the same window (60 minutes); predict_linear is ordinary
least squares over that window evaluated now, as Prometheus computes it, and predicts when the line reaches
the threshold within the 30-minute horizon. Ours is services/detector/trend.py, the code the service runs.

Ours also keeps a daily profile of each series (the seasonal forecast); predict_linear has no such memory.
`--without-profile` also reports ours with the profile off, i.e. from the 60-minute window alone. Ours is
read as the service's alert would be: a prediction stands until it is withdrawn (trend.py's hysteresis).

Figures, per kind and overall, pooled over the seeds: on crossing series, over the last 30 minutes before
each crossing, the median absolute error of the predicted crossing time (minutes) over the minutes with a
prediction, the same over the minutes where both predictors predict (paired: neither is flattered by
predicting less), and the share of those minutes with a prediction (coverage); on never-crossing series, the
share of minutes with a (false) prediction; and predictions more than a horizon early on crossing series.
Then the trend path's speed: fits per second of one core (one sample a minute, so one fit per sample).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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


KINDS = (
    "steady_fill",
    "noisy_fill",
    "seasonal_fill",
    "shift_then_fill",
    "flat",
    "flat_outliers",
    "seasonal_below",
    "shift_below",
    "wobble",
)
Predictions = list[float | None]


@dataclass
class Ours:
    """The detector's tracker over one series, timed: the trend path's cost is part of the figures."""

    profile_days: int = 2
    seconds: float = 0.0
    fits: int = 0

    def __call__(self, times: np.ndarray, values: np.ndarray) -> Predictions:
        window = int(WINDOW_S / MINUTE)
        params = TrendParams(
            threshold=THRESHOLD, horizon_s=HORIZON_S, window_slots=window, profile_days=self.profile_days
        )
        tracker = TrendTracker(params)
        out: Predictions = []
        last: float | None = None
        started = time.perf_counter()
        for now, value in zip(times.tolist(), values.tolist(), strict=True):
            analysis = tracker.observe(now, value)
            if analysis is not None:
                last = analysis.crossing
                self.fits += 1
            out.append(last)
        self.seconds += time.perf_counter() - started
        return out


@dataclass
class Score:
    errors: list[float] = field(default_factory=list)
    paired: list[float] = field(default_factory=list)  # on the minutes where both predictors predict
    covered: int = 0
    eligible: int = 0
    false: int = 0
    quiet_minutes: int = 0
    early: int = 0

    def add(self, s: Synthetic, predictions: Predictions, other: Predictions) -> None:
        for now, predicted, theirs in zip(s.times.tolist(), predictions, other, strict=True):
            if now < WINDOW_S:
                continue
            if s.crossing is None:
                self.quiet_minutes += 1
                self.false += predicted is not None
            elif s.crossing - HORIZON_S <= now < s.crossing:
                self.eligible += 1
                if predicted is not None:
                    self.covered += 1
                    self.errors.append(abs(predicted - s.crossing) / 60)
                    if theirs is not None:
                        self.paired.append(abs(predicted - s.crossing) / 60)
            elif now < s.crossing - HORIZON_S and predicted is not None and predicted < s.crossing - HORIZON_S:
                self.early += 1

    def row(self, kind: str, name: str) -> str:
        def median(values: list[float]) -> str:
            return f"{statistics.median(values):6.2f}" if values else "     -"

        coverage = f"{self.covered / self.eligible:5.3f}" if self.eligible else "    -"
        false = f"{100 * self.false / self.quiet_minutes:6.2f}" if self.quiet_minutes else "     -"
        return f"{kind:16} {name:20} {median(self.errors)} {median(self.paired)} {coverage} {false} {self.early:5d}"


def main(args: argparse.Namespace) -> int:
    predictors: dict[str, Callable[[np.ndarray, np.ndarray], Predictions]] = {"predict_linear": predict_linear}
    ours = Ours()
    predictors["healer"] = ours
    if args.without_profile:
        predictors["healer_window_only"] = Ours(profile_days=0)
    scores = {(kind, name): Score() for kind in (*KINDS, "all") for name in predictors}
    count = 0
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        for s in [make(kind, rng) for kind in KINDS for _ in range(args.per_kind)]:
            count += 1
            made = {name: predictor(s.times, s.values) for name, predictor in predictors.items()}
            for name, predictions in made.items():
                other = made["predict_linear"] if name != "predict_linear" else made["healer"]
                scores[s.kind, name].add(s, predictions, other)
                scores["all", name].add(s, predictions, other)
    print(f"# {count} series ({args.per_kind} of each of {len(KINDS)} kinds per seed), seeds {args.seeds}")
    print("# error: median |predicted - true crossing| (minutes) over the last 30 minutes before crossing;")
    print("# paired: the same over minutes where both predict; false: % of minutes on never-crossing series")
    print(f"{'kind':16} {'predictor':20} {'error':>6} {'paired':>6} {'cover':>5} {'false%':>6} {'early':>5}")
    for kind in (*KINDS, "all"):
        for name in predictors:
            print(scores[kind, name].row(kind, name))
    print(
        f"trend_fits_per_second {ours.fits / ours.seconds:.0f} fits/s (one core, {WINDOW_S / MINUTE:.0f}-sample window)"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=8, help="series of each kind, per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="random seeds of the synthetic series")
    parser.add_argument("--without-profile", action="store_true", help="also report ours from the window alone")
    sys.exit(main(parser.parse_args()))
