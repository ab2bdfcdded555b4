"""What worked before on this kind of incident, and how sure memory is of it (`MemoryAnswer.recommendation`).

The remediator applies a recommendation without further ado when its confidence is above 0.9, so the rule
is spelled out here:

    confidence(method) = (1 + S) / (2 + S + F)

the mean of a Beta posterior under a uniform prior, where S and F are the *weighted* successes and failures
of `method` among remembered outcomes of the same alert type. Each outcome's weight is

    match   `repeat_weight` (10 by default) for the same namespace and workload (the same incident again),
            1 for the same namespace, 0.25 elsewhere
    x freshness, e^(-λ·age) with the outcome's decay rate (decay.py: 0.017 per day for episodic memories)

Dry runs carry no verdict and count for nothing. What this means in practice, with the default weight:

- The same incident fixed once, recently: (1 + 10) / (2 + 10) = 0.917, above 0.9, and it stays above for
  about 12 days. That is the intent: a fix Healer's own verification confirmed on this very workload is
  strong evidence, because the same alert on the same workload most often has the same cause. Once failed
  after that: 11 / 22 = 0.5.
- The same alert elsewhere in the namespace: each outcome counts once, so it takes 9 successes without a
  failure to pass 0.9; elsewhere in the cluster, 36.
- `repeat_weight = 1` makes every outcome count once: nine clean repeats before memory acts on its own.

The method with the highest confidence among those with at least one success is recommended; `memory_id`
names its strongest successful outcome and `params` the parameters that outcome ran with. Pure.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from healer_common.contract.memory import MemoryQuery, MemoryRecord, Recommendation
from services.memory_bridge.decay import DAY_S, decay_rate
from services.memory_bridge.occurrences import workload_of

NAMESPACE_WEIGHT = 1.0
ELSEWHERE_WEIGHT = 0.25


@dataclass(frozen=True)
class IncidentKind:
    """What makes two incidents "the same kind": alert type, then namespace, then workload."""

    alert_type: str
    namespace: str | None = None
    service: str | None = None

    @classmethod
    def of(cls, question: MemoryQuery) -> IncidentKind | None:
        if question.alert_type is None:
            return None
        return cls(question.alert_type, question.namespace, workload_of(question.service))


def match_weight(kind: IncidentKind, record: MemoryRecord, repeat_weight: float) -> float:
    meta = record.metadata
    if meta.alert_type != kind.alert_type:
        return 0.0
    if kind.namespace is None or meta.namespace != kind.namespace:
        return ELSEWHERE_WEIGHT
    if kind.service is not None and workload_of(meta.service) == kind.service:
        return repeat_weight
    return NAMESPACE_WEIGHT


def freshness(record: MemoryRecord, now: dt.datetime) -> float:
    age_days = max(0.0, (now - record.created_at).total_seconds() / DAY_S)
    return math.exp(-decay_rate(record.type) * age_days)


@dataclass
class _Evidence:
    method: str
    weighted_successes: float = 0.0
    weighted_failures: float = 0.0
    successes: int = 0
    failures: int = 0
    best: tuple[float, MemoryRecord] | None = None

    @property
    def confidence(self) -> float:
        return (1 + self.weighted_successes) / (2 + self.weighted_successes + self.weighted_failures)

    def add(self, record: MemoryRecord, weight: float) -> None:
        if record.metadata.success:
            self.weighted_successes += weight
            self.successes += 1
            if self.best is None or weight > self.best[0]:
                self.best = (weight, record)
        else:
            self.weighted_failures += weight
            self.failures += 1


def recommend(
    kind: IncidentKind, outcomes: list[MemoryRecord], now: dt.datetime, repeat_weight: float
) -> Recommendation | None:
    """The best-supported method for `kind` among `outcomes`, or None when nothing ever worked."""
    evidence: dict[str, _Evidence] = {}
    for record in outcomes:
        meta = record.metadata
        weight = match_weight(kind, record, repeat_weight) * freshness(record, now)
        if meta.method is None or meta.success is None or weight == 0:
            continue
        evidence.setdefault(meta.method, _Evidence(meta.method)).add(record, weight)
    proven = [e for e in evidence.values() if e.best is not None]
    if not proven:
        return None
    chosen = max(proven, key=lambda e: (e.confidence, e.successes))
    assert chosen.best is not None
    strongest = chosen.best[1]
    where = " ".join(p for p in (kind.namespace, kind.service) if p) or "anywhere"
    return Recommendation(
        method=chosen.method,
        confidence=round(chosen.confidence, 4),
        memory_id=strongest.memory_id,
        successes=chosen.successes,
        failures=chosen.failures,
        summary=(
            f"{chosen.method} fixed {kind.alert_type} {chosen.successes} time(s) and failed {chosen.failures} "
            f"time(s) in remembered incidents like this one ({where}); weighted evidence "
            f"{chosen.weighted_successes:.1f} for, {chosen.weighted_failures:.1f} against"
        ),
        params=dict(strongest.metadata.params),
    )
