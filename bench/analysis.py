"""The analysis benchmark: how well the sleep-time analysis finds what was planted in a generated week of
history (precision and recall of correlations and of weekly/daily patterns, over several seeds), and how long
one analysis of a week takes. Prints one figure per line, `name value unit`.

    python bench/analysis.py [--seeds 20]

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


def run(seeds: int, *, hard: bool) -> None:
    scores: dict[str, list[float]] = {k: [] for k in ("cp", "cr", "tp", "tr", "ep", "er")}
    took = []
    for seed in range(1, seeds + 1):
        week = generate(seed, hard=hard)
        history = week.as_history()
        started = time.perf_counter()
        report = analyze(history, MemorySettings(), week.end)
        took.append(time.perf_counter() - started)
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
    prefix = "faint_" if hard else ""
    figure(f"{prefix}analysis_weeks", seeds, "generated weeks")
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


def main(seeds: int) -> int:
    """The planted patterns as documented, then the same patterns planted fainter."""
    run(seeds, hard=False)
    run(seeds, hard=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="generated weeks (one seed each)")
    sys.exit(main(parser.parse_args().seeds))
