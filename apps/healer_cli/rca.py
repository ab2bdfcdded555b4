"""`healer analyze rca`: the correlator's root-cause ranking (services/correlator/root_cause_graph.py) over
files, for an incident already over or a data set.

    healer analyze rca --graph G.csv --normal N.csv --metrics W.csv --target NODE:METRIC:STAT --output R.csv

G.csv is the call graph as an adjacency matrix: the first row and column name the nodes, row = caller,
column = callee, 1 = an edge. N.csv (normal operation) and W.csv (the violation's window) hold metrics in
three header rows (node, metric, statistic) under which the first column is a timestamp and every other
column one node's metric, one row per sample; rows whose first cell is not a number are skipped. R.csv gets
`rank,node,score`, most likely cause first, and no rows when the window shows no root cause.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from healer_cli.runtime import console, errors
from services.correlator.root_cause_graph import CallGraph, Floats, RcaParams, rank_root_causes

Column = tuple[str, str, str]  # node, metric, statistic
LOWER_IS_WORSE = ("availability", "success", "apdex", "uptime")  # metric names where a drop is the trouble


def read_graph(path: Path) -> CallGraph:
    """The call graph of an adjacency matrix CSV (any cell that reads as a positive number is an edge)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    callees = rows[0][1:]
    edges = []
    for row in rows[1:]:
        for callee, cell in zip(callees, row[1:], strict=False):
            try:
                if float(cell) > 0:
                    edges.append((row[0], callee))
            except ValueError:
                continue
    return CallGraph.from_edges(edges)


def read_metrics(path: Path) -> dict[Column, Floats]:
    """Every (node, metric, statistic) column of a metrics CSV, as floats (NaN where empty)."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 3:
        raise typer.BadParameter(f"{path} needs three header rows (node, metric, statistic)")
    columns = list(zip(rows[0][1:], rows[1][1:], rows[2][1:], strict=False))
    samples = [row[1:] for row in rows[3:] if row and _is_number(row[0])]
    values = np.full((len(samples), len(columns)), np.nan)
    for i, row in enumerate(samples):
        for j, cell in enumerate(row[: len(columns)]):
            if _is_number(cell):
                values[i, j] = float(cell)
    return {column: values[:, j] for j, column in enumerate(columns)}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_target(text: str) -> Column:
    """NODE:METRIC:STAT, where the node's name may hold colons itself."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not all(parts):
        raise typer.BadParameter(f"{text!r} is not NODE:METRIC:STAT (e.g. checkout:latency:p99)")
    return parts[0], parts[1], parts[2]


def rca_command(
    graph: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="call graph adjacency matrix CSV")],
    normal: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="metrics of normal operation")],
    metrics: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="metrics of the violation's window")],
    target: Annotated[str, typer.Option(help="the violated target: NODE:METRIC:STAT")],
    output: Annotated[Path, typer.Option(dir_okay=False, help="where to write rank,node,score")],
    significance: Annotated[
        float, typer.Option(help="how unlikely under normal behaviour a node's window must be to count")
    ] = RcaParams.significance,
    alignment: Annotated[
        float, typer.Option(help="how closely a node must move with the target")
    ] = RcaParams.alignment,
    lower_is_worse: Annotated[
        bool | None,
        typer.Option("--lower-is-worse/--higher-is-worse", help="default: lower for availability-like metrics"),
    ] = None,
) -> None:
    """Rank the likely root causes of a latency or availability violation from the call graph and metrics."""
    node, metric, stat = parse_target(target)
    normal_metrics, window_metrics = read_metrics(normal), read_metrics(metrics)
    if (node, metric, stat) not in window_metrics:
        errors.print(f"{metrics} has no column {node} / {metric} / {stat}; check --target")
        raise typer.Exit(2)
    same = {col[0]: values for col, values in normal_metrics.items() if col[1:] == (metric, stat)}
    seen = {col[0]: values for col, values in window_metrics.items() if col[1:] == (metric, stat)}
    params = RcaParams(significance=significance, alignment=alignment)
    lower = any(word in metric.lower() for word in LOWER_IS_WORSE) if lower_is_worse is None else lower_is_worse
    ranked = rank_root_causes(read_graph(graph), node, same, seen, worse=-1.0 if lower else 1.0, params=params)
    with output.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["rank", "node", "score"])
        for rank, cause in enumerate(ranked, start=1):
            out.writerow([rank, cause.node, f"{cause.score:.4f}"])
    console.print(f"wrote {len(ranked)} causes to {output}" if ranked else f"no root cause found; wrote {output}")
