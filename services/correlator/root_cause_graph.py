"""Root cause of a latency or availability violation at a service, from a call graph and every node's metrics.

The question an on-call engineer asks when a service's latency or availability goes bad: which of the
services it depends on (directly or not) caused it? The answer here uses three pieces of evidence, each a
general property of failures that spread along calls, none tied to a system:

1. Unusual: a node's metric in the window lies in the tail of its own normal behaviour. Each window value
   gets a tail probability against the normal history (empirical inside it, an exponential tail fitted to
   the normal history's top `TAIL_SHARE` beyond it, so "far beyond anything seen" is graded, not capped);
   the smallest is corrected for the window's length (k values get k chances to look rare), so a long
   stretch of ordinary data is not a violation. A node is unusual at `significance` or below.
2. Moving with the target: its deviations over the window's samples correlate with the target's at
   `alignment` or more. A cause and its effect rise and fall together; a node that spiked at another time
   in the window (a noisy batch job) is not the cause.
3. Not explained by its callees: latency and errors add up along calls, so a node whose unusual, aligned
   callee moved by at least `explained` of its own move is passing on its callee's trouble; the root is the
   deepest node whose move its callees do not account for.

Candidates are the target and everything it calls, directly or not. Causes (unusual, aligned, not
explained) come first, by alignment; then the unusual, aligned nodes their callees explain; then, as weaker
leads, the aligned nodes not unusual enough on their own. No unusual, aligned candidate: no root cause, an
empty answer (the window looks like normal operation). "Worse" is up for latency and
errors, down for availability, the same for every node.

Pure (numpy, no I/O): `healer analyze rca` reads the files; the parameters' defaults were chosen by
leave-one-issue-out cross-validation (bench/rca.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
TAIL_SHARE = 0.05  # the normal history's top 5 % defines its tail: enough values to fit its scale
MIN_NORMAL = 10  # fewer normal values than this say nothing about a node's normal behaviour


@dataclass(frozen=True)
class RcaParams:
    significance: float = 0.05  # a node is unusual when its window is this unlikely under normal behaviour
    alignment: float = 0.5  # correlation with the target's deviations over the window that counts as moving with it
    explained: float = 0.5  # a callee moving this share of a node's own move explains it


@dataclass(frozen=True)
class RankedCause:
    node: str
    # above 2: a cause its callees do not explain; 1 to 2: a node passing a callee's trouble on; below 1: a node
    # that moved with the target but is not unusual enough on its own. The fraction: how closely it moved.
    score: float


@dataclass(frozen=True)
class CallGraph:
    """Who calls whom: caller -> callees."""

    callees: Mapping[str, frozenset[str]]

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]]) -> CallGraph:
        callees: dict[str, set[str]] = {}
        for caller, callee in edges:
            callees.setdefault(caller, set()).add(callee)
        return cls({caller: frozenset(found) for caller, found in callees.items()})

    def reachable(self, node: str) -> set[str]:
        """Everything the node calls, directly or not."""
        seen: set[str] = set()
        stack = [node]
        while stack:
            for callee in self.callees.get(stack.pop(), frozenset()):
                if callee not in seen:
                    seen.add(callee)
                    stack.append(callee)
        return seen


@dataclass(frozen=True)
class Unusualness:
    """How unusual a node's window is (-log10 of its corrected tail probability) and how it moved."""

    strength: float
    deviation: Floats  # per window sample, from the normal median, positive = worse
    move: float  # the largest deviation


def unusualness(normal: Floats, window: Floats, worse: float) -> Unusualness | None:
    """A node's window against its normal history, `worse` = +1 when higher is worse, -1 when lower is."""
    history = np.sort(worse * normal[~np.isnan(normal)])
    seen = worse * window
    if history.size < MIN_NORMAL or not np.any(~np.isnan(seen)):
        return None
    median = float(history[history.size // 2])
    edge = float(history[int((1 - TAIL_SHARE) * (history.size - 1))])
    beyond = history[history > edge] - edge
    floor = 1e-3 * abs(median) + 1e-12  # a metric that never moved: any move is far beyond it
    scale = max(float(beyond.mean()) if beyond.size else 0.0, floor)
    values = seen[~np.isnan(seen)]
    inside = (history.size - np.searchsorted(history, values, side="left") + 1) / (history.size + 1)
    tails = np.where(values <= edge, inside, TAIL_SHARE * np.exp(-np.maximum(values - edge, 0) / scale))
    smallest = max(float(tails.min()), 1e-300)
    corrected = -math.expm1(values.size * math.log1p(-min(smallest, 1 - 1e-12)))  # k chances to look rare
    deviation = seen - median
    return Unusualness(-math.log10(max(corrected, 1e-300)), deviation, float(np.nanmax(deviation)))


def _alignment(a: Floats, b: Floats) -> float:
    """Pearson correlation over the samples both have; 0 when either is flat or too short to say."""
    both = ~np.isnan(a) & ~np.isnan(b)
    if both.sum() < 3:
        return 0.0
    x, y = a[both] - a[both].mean(), b[both] - b[both].mean()
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / norm if norm > 0 else 0.0


def rank_root_causes(
    graph: CallGraph,
    target: str,
    normal: Mapping[str, Floats],
    window: Mapping[str, Floats],
    *,
    worse: float = 1.0,
    params: RcaParams | None = None,
) -> list[RankedCause]:
    """The likely causes of the target's violation, most likely first; empty when none is found.

    `normal` and `window` hold, per node, the same metric (the target's, e.g. latency p99) over normal
    operation and over the violation's window, one value per sample (NaN where missing). `worse` is +1 when
    a higher value is worse (latency, errors), -1 when a lower one is (availability)."""
    p = params or RcaParams()
    if target not in normal or target not in window:
        return []
    found = {
        node: seen
        for node in normal.keys() & window.keys()
        if (seen := unusualness(normal[node], window[node], worse)) is not None
    }
    if target not in found:
        return []
    moving = {
        node: 1.0 if node == target else _alignment(u.deviation, found[target].deviation) for node, u in found.items()
    }
    suspects = {
        node for node, u in found.items() if u.strength >= -math.log10(p.significance) and moving[node] >= p.alignment
    }
    if not (graph.reachable(target) | {target}) & suspects:
        return []
    return _ranked(graph, target, found=found, moving=moving, suspects=suspects, p=p)


def _ranked(
    graph: CallGraph,
    target: str,
    *,
    found: Mapping[str, Unusualness],
    moving: Mapping[str, float],
    suspects: set[str],
    p: RcaParams,
) -> list[RankedCause]:
    """Causes, then the suspects passing a callee's trouble on, then the weaker leads (module docstring)."""
    candidates = (graph.reachable(target) | {target}) & suspects

    def explained(node: str) -> bool:
        own = found[node].move
        return any(c in suspects and found[c].move >= p.explained * own for c in graph.callees.get(node, ()))

    causes = sorted((n for n in candidates if not explained(n)), key=lambda n: (-moving[n], n))
    passed_on = sorted((n for n in candidates if explained(n)), key=lambda n: (-moving[n], n))
    bar = -math.log10(p.significance)
    weaker = {
        n: moving[n] * min(1.0, found[n].strength / bar)
        for n in (graph.reachable(target) & found.keys()) - suspects
        if moving[n] >= p.alignment
    }
    return (
        [RankedCause(n, 2.0 + moving[n]) for n in causes]
        + [RankedCause(n, 1.0 + moving[n]) for n in passed_on]
        + [RankedCause(n, weaker[n]) for n in sorted(weaker, key=lambda n: (-weaker[n], n))]
    )
