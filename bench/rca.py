"""Root cause from metrics and a call graph, on the PetShop data set's `low_traffic` scenario (Amazon, CLeaR
2024, CC-BY-4.0, read in place from the shared folder).

    python bench/rca.py [--shared ../shared] [--no-scorer]

Two sets of figures, both on every injected issue (train and test together, an empty answer a miss) and on
the data set's specificity windows (the later part of the normal data, cut at 50 %, 60 %, ... of it, where
the right answer is none):

1. Cross-validated: leave one case out (an issue or a specificity window). The parameters (significance,
   alignment, explained; services/correlator/root_cause_graph.py) are chosen on the other cases, by top-1
   on their issues plus specificity on their windows (ties go to the first in the grid, the defaults), and
   the held-out case is scored with them. No case helps choose the parameters it is scored with.
2. The shipped scorer, `eval/petshop_score.py`, running `healer analyze rca` with the defaults.

Only each issue's `target` and `root_cause` are read from target.json, never its `metadata` (which names
the injected fault). Prints `name value unit` lines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from healer_cli.rca import LOWER_IS_WORSE, read_graph, read_metrics
from services.correlator.root_cause_graph import CallGraph, Floats, RcaParams, rank_root_causes

GRID = [
    RcaParams(significance=s, alignment=a, explained=e)
    for s, a, e in itertools.product((0.05, 0.01, 0.001, 0.1), (0.5, 0.3, 0.7, 0.0), (0.5, 0.25, 1.0))
]


@dataclass(frozen=True)
class Case:
    name: str
    target: str
    metric: str
    normal: dict[str, Floats]
    window: dict[str, Floats]
    cause: str | None  # None: a window of normal operation, where the right answer is no cause


def _of_metric(metrics: dict[tuple[str, str, str], Floats], metric: str, stat: str) -> dict[str, Floats]:
    return {column[0]: values for column, values in metrics.items() if column[1:] == (metric, stat)}


def cases(scenario: Path) -> list[Case]:
    """Every issue, then the specificity windows for every target the issues name."""
    normal = read_metrics(scenario / "noissue" / "metrics.csv")
    found, targets = [], set()
    for issue in sorted(scenario.glob("*/issue_*")):
        meta = json.loads((issue / "target.json").read_text())
        target, cause = meta["target"], meta["root_cause"]["node"]  # never meta["metadata"]
        targets.add((target["node"], target["metric"], target["agg"]))
        window = read_metrics(issue / "metrics.csv")
        found.append(
            Case(
                f"{issue.parent.name}/{issue.name}",
                target["node"],
                target["metric"],
                _of_metric(normal, target["metric"], target["agg"]),
                _of_metric(window, target["metric"], target["agg"]),
                cause,
            )
        )
    rows = len(next(iter(normal.values())))
    for node, metric, stat in sorted(targets):
        series = _of_metric(normal, metric, stat)
        for cut in range(rows // 2, rows - 3, int(rows * 0.1)):
            before = {n: v[:cut] for n, v in series.items()}
            after = {n: v[cut:] for n, v in series.items()}
            found.append(Case(f"normal/{metric}/{cut}", node, metric, before, after, None))
    return found


def answer(graph: CallGraph, case: Case, params: RcaParams) -> list[str]:
    worse = -1.0 if any(word in case.metric.lower() for word in LOWER_IS_WORSE) else 1.0
    ranked = rank_root_causes(graph, case.target, case.normal, case.window, worse=worse, params=params)
    return [c.node for c in ranked]


def right(case: Case, ranked: list[str], within: int = 1) -> bool:
    return not ranked if case.cause is None else case.cause in ranked[:within]


def objective(answers: dict[str, list[str]], chosen: list[Case]) -> float:
    """Top-1 over the issues plus specificity over the normal windows."""
    issues = [c for c in chosen if c.cause is not None]
    normal = [c for c in chosen if c.cause is None]
    top1 = sum(right(c, answers[c.name]) for c in issues) / max(1, len(issues))
    return top1 + sum(right(c, answers[c.name]) for c in normal) / max(1, len(normal))


def cross_validated(graph: CallGraph, all_cases: list[Case]) -> dict[str, list[str]]:
    """Each case's answer under the parameters chosen without it."""
    answers = {params: {c.name: answer(graph, c, params) for c in all_cases} for params in GRID}
    held_out = {}
    for case in all_cases:
        rest = [c for c in all_cases if c is not case]
        best = max(GRID, key=lambda params: objective(answers[params], rest))  # ties: the first, the defaults
        held_out[case.name] = answers[best][case.name]
    return held_out


def shared_folder() -> Path:
    """The nearest `shared` folder beside this checkout or one of its parents (a worktree sits deeper)."""
    here = Path(__file__).resolve()
    return next((p / "shared" for p in here.parents if (p / "shared" / "eval").is_dir()), here.parents[2] / "shared")


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def report(prefix: str, all_cases: list[Case], answers: dict[str, list[str]]) -> None:
    issues = [c for c in all_cases if c.cause is not None]
    figure(f"{prefix}_top1", float(np.mean([right(c, answers[c.name]) for c in issues])), "recall")
    figure(f"{prefix}_top3", float(np.mean([right(c, answers[c.name], 3) for c in issues])), "recall")
    for metric in sorted({c.metric for c in all_cases}):
        normal = [c for c in all_cases if c.cause is None and c.metric == metric]
        figure(f"{prefix}_specificity_{metric}", float(np.mean([right(c, answers[c.name]) for c in normal])), "share")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=shared_folder())
    parser.add_argument("--no-scorer", action="store_true", help="skip the shipped scorer (about 5 minutes)")
    args = parser.parse_args()
    scenario = args.shared / "data" / "petshop" / "low_traffic"
    if not (scenario / "graph.csv").is_file():
        raise SystemExit(f"{scenario} holds no graph.csv: pass --shared PATH (the shared folder)")
    graph = read_graph(scenario / "graph.csv")
    all_cases = cases(scenario)
    report("rca_defaults", all_cases, {c.name: answer(graph, c, RcaParams()) for c in all_cases})
    report("rca_cross_validated", all_cases, cross_validated(graph, all_cases))
    if not args.no_scorer:
        healer = Path(sys.executable).with_name("healer")
        done = subprocess.run(
            [sys.executable, str(args.shared / "eval" / "petshop_score.py"), str(healer)],
            capture_output=True,
            text=True,
            check=True,
        )
        found = re.search(r"PetShop top-1 ([\d.]+) top-3 ([\d.]+) specificity ([\d.]+)", done.stdout)
        if found is None:
            raise SystemExit(f"petshop_score.py printed no summary:\n{done.stdout}\n{done.stderr}")
        for name, value in zip(("top1", "top3", "specificity"), found.groups(), strict=True):
            figure(f"rca_scorer_{name}", float(value), "share")
    return 0


if __name__ == "__main__":
    sys.exit(main())
