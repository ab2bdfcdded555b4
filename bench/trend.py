"""Trend prediction against Prometheus' predict_linear on generated series with known crossing times.

    python bench/trend.py [--per-kind 4] [--seeds 1 2 3] [--workers 2]

Series of sixteen kinds (bench/trend_series.py: fills steady, noisy, seasonal, after a level shift, sampled
irregularly, with gaps, after a reset, and a slow leak under noise larger than its slope; never-crossing
flat, flat with outliers, a daily swing below, a shift below, a wobble, a saw-tooth of fills reset in time,
steps below and a saturation just under the threshold).

Both predictors see the same samples online; predict_linear is ordinary least squares over the last 60
minutes evaluated now, as Prometheus computes it, and predicts when the line reaches the threshold within
the 30-minute horizon. Ours is services/detector/trend.py, the code the service runs, read as the service's
alert would be: a prediction stands until it is withdrawn (trend.py's hysteresis).

Figures, per kind and overall, pooled over the seeds: on crossing series, over the last 30 minutes before
each crossing, the median absolute error of the predicted crossing time (minutes) over the samples with a
prediction, the same over the samples where both predictors predict (paired: neither is flattered by
predicting less), and the share of those samples with a prediction (coverage); on never-crossing series, the
share of samples with a (false) prediction; predictions more than a horizon early on crossing series; the
calibration of our confidence (of the predictions made at each tenth of confidence, the share whose series
crossed within the horizon); and the trend path's speed, fits per second of one core. The cross-validated
choice of the trend's parameters is in bench/detector_quality.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from trend_series import KINDS, MINUTE, THRESHOLD, Synthetic, make

from services.detector.trend import TrendParams, TrendTracker

HORIZON_S = 1_800.0
WINDOW_S = 3_600.0


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


Predictions = list[float | None]
MIN_CONFIDENCE = TrendParams(threshold=THRESHOLD).min_confidence


def series(seeds: list[int], per_kind: int, kinds: tuple[str, ...] = KINDS) -> list[Synthetic]:
    """`per_kind` series of each kind per seed; each (seed, kind) has its own generator, so a fold of them is
    the same whichever others are drawn."""
    return [
        make(kind, np.random.default_rng([seed, KINDS.index(kind), i]))
        for seed in seeds
        for kind in kinds
        for i in range(per_kind)
    ]


@dataclass(frozen=True)
class Run:
    """One predictor over one series: per sample the standing predicted crossing and its confidence."""

    crossings: Predictions
    confidences: list[float]
    fits: int = 0
    seconds: float = 0.0


def ours(s: Synthetic, params: TrendParams | None = None) -> Run:
    """The detector's tracker over the series, timed: the trend path's cost is part of the figures."""
    tracker = TrendTracker(params or TrendParams(threshold=THRESHOLD, horizon_s=HORIZON_S))
    crossings: Predictions = []
    confidences: list[float] = []
    crossing, confidence, fits = None, 0.0, 0
    started = time.perf_counter()
    for now, value in zip(s.times.tolist(), s.values.tolist(), strict=True):
        analysis = tracker.observe(now, value)
        if analysis is not None:
            crossing, confidence, fits = analysis.crossing, analysis.confidence, fits + 1
        crossings.append(crossing)
        confidences.append(confidence)
    return Run(crossings, confidences, fits, time.perf_counter() - started)


def linear(s: Synthetic) -> Run:
    made = predict_linear(s.times, s.values)
    return Run(made, [1.0 if m is not None else 0.0 for m in made])


@dataclass
class Score:
    errors: list[float] = field(default_factory=list)
    paired: list[float] = field(default_factory=list)  # on the samples where both predictors predict
    covered: int = 0
    eligible: int = 0
    false: int = 0
    quiet_samples: int = 0
    early: int = 0
    calls: list[tuple[float, bool]] = field(default_factory=list)  # (confidence, came true) per prediction

    def add(self, s: Synthetic, run: Run, other: Run) -> None:
        for now, predicted, confidence, theirs in zip(
            s.times.tolist(), run.crossings, run.confidences, other.crossings, strict=True
        ):
            if now < WINDOW_S:
                continue
            if predicted is not None and (s.crossing is None or now < s.crossing):
                true = s.crossing is not None and s.crossing <= now + HORIZON_S
                self.calls.append((confidence, true))
            if s.crossing is None:
                self.quiet_samples += 1
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

    def merge(self, other: Score) -> None:
        for name in ("errors", "paired", "calls"):
            getattr(self, name).extend(getattr(other, name))
        for name in ("covered", "eligible", "false", "quiet_samples", "early"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def error(self) -> float:
        return statistics.median(self.errors) if self.errors else float("nan")

    @property
    def false_share(self) -> float:
        return self.false / self.quiet_samples if self.quiet_samples else float("nan")

    def calibration(self) -> list[tuple[float, float, int]]:
        """(confidence bin's lower edge, share that came true, predictions) per tenth of confidence."""
        rows = []
        for low in np.arange(0.5, 1.0, 0.1):
            inside = [true for confidence, true in self.calls if low <= confidence < low + 0.1 + 1e-9]
            if inside:
                rows.append((float(low), sum(inside) / len(inside), len(inside)))
        return rows

    def row(self, kind: str, name: str) -> str:
        def median(values: list[float]) -> str:
            return f"{statistics.median(values):6.2f}" if values else "     -"

        coverage = f"{self.covered / self.eligible:5.3f}" if self.eligible else "    -"
        false = f"{100 * self.false / self.quiet_samples:6.2f}" if self.quiet_samples else "     -"
        return f"{kind:16} {name:20} {median(self.errors)} {median(self.paired)} {coverage} {false} {self.early:5d}"


def tally(made: list[tuple[Synthetic, Run, Run]]) -> dict[tuple[str, str], Score]:
    """Scores by (kind or "all", predictor) of (series, ours, predict_linear) triples."""
    scores: dict[tuple[str, str], Score] = {}
    for s, mine, theirs in made:
        for kind in (s.kind, "all"):
            scores.setdefault((kind, "healer"), Score()).add(s, mine, theirs)
            scores.setdefault((kind, "predict_linear"), Score()).add(s, theirs, mine)
    return scores


def _both(s: Synthetic, params: TrendParams | None = None) -> tuple[Synthetic, Run, Run]:
    return s, ours(s, params), linear(s)


def run_all(
    chosen: list[Synthetic], params: TrendParams | None = None, workers: int = 2
) -> list[tuple[Synthetic, Run, Run]]:
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_both, chosen, [params] * len(chosen), chunksize=4))


def main(args: argparse.Namespace) -> int:
    chosen = series(args.seeds, args.per_kind)
    made = run_all(chosen, workers=args.workers)
    scores = tally(made)
    print(f"# {len(chosen)} series ({args.per_kind} of each of {len(KINDS)} kinds per seed), seeds {args.seeds}")
    print("# error: median |predicted - true crossing| (minutes) over the last 30 minutes before crossing;")
    print("# paired: the same over samples where both predict; false: % of samples on never-crossing series")
    print(f"{'kind':16} {'predictor':20} {'error':>6} {'paired':>6} {'cover':>5} {'false%':>6} {'early':>5}")
    for kind in (*KINDS, "all"):
        for name in ("predict_linear", "healer"):
            if (kind, name) in scores:
                print(scores[kind, name].row(kind, name))
    print("# calibration of healer's confidence: predictions in each tenth, and the share that came true")
    for low, true, count in scores["all", "healer"].calibration():
        print(f"confidence {low:.1f}-{low + 0.1:.1f}: {true:.3f} came true ({count} predictions)")
    fits = sum(run.fits for _, run, _ in made)
    seconds = sum(run.seconds for _, run, _ in made)
    print(f"trend_fits_per_second {fits / seconds:.0f} fits/s (one core, {WINDOW_S / MINUTE:.0f}-sample window)")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=4, help="series of each kind, per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="random seeds of the synthetic series")
    parser.add_argument("--workers", type=int, default=2, help="processes running the series")
    sys.exit(main(parser.parse_args()))
