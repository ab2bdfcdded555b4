"""Root cause from a call graph and metrics, as an on-call engineer uses it: a slow database under an API
under a front end is named first, not the services that only passed its slowness on; a node that spiked at
another moment is not blamed; a window of ordinary operation gets no answer; and `healer analyze rca` reads
and writes the files in the layout the issue gives (a generated graph here, not a data set).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from healer_cli.main import app
from services.correlator.root_cause_graph import CallGraph, Floats, rank_root_causes

EDGES = [("web", "api"), ("web", "cdn"), ("api", "db"), ("api", "auth"), ("auth", "cache"), ("batch", "db")]
OWN_LATENCY = {"web": 0.05, "api": 0.03, "cdn": 0.02, "db": 0.01, "auth": 0.008, "cache": 0.002, "batch": 0.5}
GRAPH = CallGraph.from_edges(EDGES)


def latencies(rows: int, rng: np.random.Generator, slower: dict[str, Floats] | None = None) -> dict[str, Floats]:
    """Each node's latency: its own (noisy) time plus its callees', so slowness adds up along the calls."""
    own = {node: base * (1 + 0.1 * rng.standard_normal(rows)) for node, base in OWN_LATENCY.items()}
    for node, extra in (slower or {}).items():
        own[node] = own[node] + extra
    total: dict[str, Floats] = {}

    def of(node: str) -> Floats:
        if node not in total:
            total[node] = own[node] + sum((of(c) for c in GRAPH.callees.get(node, ())), np.zeros(rows))
        return total[node]

    for node in OWN_LATENCY:
        of(node)
    return total


def test_a_slow_database_is_named_before_the_services_that_passed_its_slowness_on() -> None:
    rng = np.random.default_rng(1)
    normal = latencies(300, rng)
    window = latencies(5, rng, {"db": np.array([0.0, 0.0, 0.2, 0.25, 0.05])})
    window["cdn"] = window["cdn"] + np.array([0.3, 0.0, 0.0, 0.0, 0.0])  # a spike the front end did not wait on

    ranked = rank_root_causes(GRAPH, "web", normal, window)

    assert ranked[0].node == "db"
    assert {"api", "web"} <= {c.node for c in ranked[1:]}
    assert "cdn" not in {c.node for c in ranked}


def test_a_fault_in_the_middle_of_the_chain_stops_there() -> None:
    rng = np.random.default_rng(2)
    normal = latencies(300, rng)
    window = latencies(5, rng, {"auth": np.array([0.0, 0.1, 0.3, 0.3, 0.1])})

    ranked = rank_root_causes(GRAPH, "web", normal, window)

    assert ranked[0].node == "auth"
    assert "cache" not in {c.node for c in ranked}


def test_ordinary_operation_has_no_root_cause() -> None:
    rng = np.random.default_rng(3)
    normal = latencies(600, rng)

    assert rank_root_causes(GRAPH, "web", normal, latencies(300, rng)) == []


def test_a_drop_in_availability_is_worse_when_lower() -> None:
    normal = {node: np.full(300, 100.0) for node in OWN_LATENCY}
    window = {node: np.full(5, 100.0) for node in OWN_LATENCY}
    window["db"] = np.array([100.0, 100.0, 91.0, 93.0, 100.0])
    window["api"] = np.array([100.0, 100.0, 95.0, 96.0, 100.0])
    window["web"] = np.array([100.0, 100.0, 98.0, 98.5, 100.0])

    ranked = rank_root_causes(GRAPH, "web", normal, window, worse=-1.0)

    assert [c.node for c in ranked][:1] == ["db"]


def write_metrics(path: Path, series: dict[str, Floats], start: int = 1_700_000_000) -> None:
    nodes = sorted(series)
    rows = [
        ["microservice", *nodes],
        ["metric", *["latency"] * len(nodes)],
        ["statistic", *["Average"] * len(nodes)],
        ["unix_timestamp", *[""] * len(nodes)],
    ]
    rows += [[f"{start + 300 * i}.0", *[f"{series[n][i]:.6f}" for n in nodes]] for i in range(len(series[nodes[0]]))]
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def write_graph(path: Path) -> None:
    nodes = sorted(OWN_LATENCY)
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["", *nodes])
        for caller in nodes:
            out.writerow([caller, *["1.0" if (caller, callee) in EDGES else "0.0" for callee in nodes]])


def test_analyze_rca_writes_the_ranking_and_no_rows_for_normal_operation(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    write_graph(tmp_path / "graph.csv")
    write_metrics(tmp_path / "normal.csv", latencies(300, rng))
    write_metrics(tmp_path / "window.csv", latencies(5, rng, {"db": np.array([0.0, 0.0, 0.3, 0.3, 0.0])}))
    write_metrics(tmp_path / "calm.csv", latencies(120, rng))

    def rca(window: str) -> list[dict[str, str]]:
        out = tmp_path / f"ranked-{window}"
        args = ["--graph", str(tmp_path / "graph.csv"), "--normal", str(tmp_path / "normal.csv")]
        args += ["--metrics", str(tmp_path / window), "--target", "web:latency:Average", "--output", str(out)]
        result = CliRunner().invoke(app, ["analyze", "rca", *args])
        assert result.exit_code == 0, result.output
        lines = out.read_text().splitlines()
        assert lines[0] == "rank,node,score"
        return list(csv.DictReader(lines))

    ranked = rca("window.csv")
    assert (ranked[0]["rank"], ranked[0]["node"]) == ("1", "db")
    assert rca("calm.csv") == []
