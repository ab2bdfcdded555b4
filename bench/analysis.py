"""The analysis benchmark: how well the sleep-time analysis finds what was planted in a generated week of
history (precision and recall of correlations and of weekly/daily patterns, over several seeds), and how long
one analysis of a week takes. Prints one figure per line, `name value unit`.

    python bench/analysis.py [--seeds 20] [--weeks 3]

With `--weeks 3` the history is three weeks, read as the analysis reads it from the ROLLUPS stream (5-minute
rollups of every series, memory-bridge's retention), so the temporal figures are those of the rollups.

The generator is tests/analysis_history.py (three correlations, two weekly hours, a daily hour and a filling
volume, planted in a dozen kinds of noise including a chatty alert that follows everything by chance); the
`faint_` figures plant the same patterns fainter (12 episodes at 60 %, 2.2x), to show where finding stops.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the generator lives with the tests

from healer_common.settings import MemorySettings
from services.memory_bridge.analysis.sleep_time import analyze
from tests.support.analysis_history import generate, precision_recall


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def run(seeds: int, *, hard: bool, weeks: int = 1) -> None:
    scores: dict[str, list[float]] = {k: [] for k in ("cp", "cr", "tp", "tr", "ep", "er")}
    took = []
    for seed in range(1, seeds + 1):
        week = generate(seed, days=7 * weeks, hard=hard)
        history = week.from_rollups() if weeks > 1 else week.as_history()
        started = time.perf_counter()
        report = analyze(history, MemorySettings(), week.end)
        took.append(time.perf_counter() - started)
        if weeks > 1:  # resource prediction reads a week, as its sleep-time job does (memory.sleep_jobs)
            last_week = analyze(week.from_rollups(days=7), MemorySettings(), week.end, frozenset({"exhaustion"}))
            report = report.model_copy(update={"exhaustion": last_week.exhaustion})
        correlations = {(c.trigger, c.namespace, c.predicts, c.service) for c in report.correlations}
        temporal = {(t.signal, t.namespace, t.weekday, t.hour) for t in report.temporal}
        exhausted = {f.series for f in report.exhaustion if f.exhausted_at is not None}
        found: list[tuple[str, tuple[float, float]]] = [
            ("c", precision_recall(correlations, set(week.planted.correlations))),
            ("t", precision_recall(temporal, set(week.planted.temporal))),
            ("e", precision_recall(exhausted, {week.planted.exhausted})),
        ]
        for kind, (precision, recall) in found:
            scores[f"{kind}p"].append(precision)
            scores[f"{kind}r"].append(recall)
    prefix = ("faint_" if hard else "") + (f"rollups_{weeks}w_" if weeks > 1 else "")
    figure(f"{prefix}analysis_weeks", seeds, "generated histories")
    figure(f"{prefix}analysis_alerts_per_week", len(generate(1, hard=hard).alerts), "alerts")
    for name, key in (
        ("correlation_precision", "cp"),
        ("correlation_recall", "cr"),
        ("temporal_precision", "tp"),
        ("temporal_recall", "tr"),
        ("exhaustion_precision", "ep"),
        ("exhaustion_recall", "er"),
    ):
        figure(f"{prefix}{name}", statistics.fmean(scores[key]), "mean over weeks")
        figure(f"{prefix}{name}_worst", min(scores[key]), "worst week")
    figure(f"{prefix}analysis_seconds_per_week_p50", statistics.median(took), "s")


def main(seeds: int, weeks: int) -> int:
    """The planted patterns as documented, then the same patterns planted fainter."""
    run(seeds, hard=False, weeks=weeks)
    run(seeds, hard=True, weeks=weeks)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="generated histories (one seed each)")
    parser.add_argument("--weeks", type=int, default=1, help="weeks of history; more than one reads rollups")
    arguments = parser.parse_args()
    sys.exit(main(arguments.seeds, arguments.weeks))
