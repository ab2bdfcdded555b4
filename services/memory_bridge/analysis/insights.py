"""What an analysis teaches memory: each finding becomes an insight (a memory that carries its pattern), with
an identity that does not change from one analysis to the next, so finding it again re-learns it (refreshed
and reinforced) instead of storing it twice.

Types and salience:

    correlation, change   semantic    0.4 + 0.55 · probability · min(1, episodes / 10)
    weekly, daily hour    temporal    0.4 + 0.55 · probability · min(1, ratio / 3)
    exhaustion ahead      temporal    0.5 (a forecast, valid for days)
    failure pattern       procedural  0.6 (what fixes what does not go stale)
    playbook tuning       procedural  0.6

Only patterns above 0.8 raise H10, so a strong correlation (80 % over 25 episodes: 0.84) predicts from the
first night, and a weaker one (or a weekly hour seen once: 0.77) only once it has been found again. Pure.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.memory import MemoryAdd, MemoryMetadata, MemoryPattern, MemoryType
from healer_common.contract.messages import stable_id
from services.memory_bridge.analysis.report import (
    AnalysisReport,
    Correlation,
    ExhaustionForecast,
    FailurePattern,
    PlaybookTuning,
    TemporalPattern,
)
from services.memory_bridge.analysis.temporal import WEEKDAYS
from services.memory_bridge.occurrences import CHANGE_PREFIX

FULL_SUPPORT = 10
FULL_RATIO = 3.0


def _insight(
    identity: tuple[object, ...], memory_type: MemoryType, content: str, metadata: MemoryMetadata, salience: float
) -> MemoryAdd:
    pattern = metadata.pattern
    assert pattern is not None
    tags = ["insight", pattern.kind, *(f"alert:{a}" for a in (metadata.alert_type, pattern.predicts) if a)]
    return MemoryAdd(
        event_id=stable_id("insight", *identity),
        content=content,
        type=memory_type,
        metadata=metadata,
        tags=list(dict.fromkeys(tags)),
        salience=round(min(1.0, salience), 4),
    )


def _correlation(c: Correlation) -> MemoryAdd:
    is_change = c.trigger.startswith(CHANGE_PREFIX)
    pattern = MemoryPattern(
        kind="change" if is_change else "correlation",
        trigger=c.trigger,
        namespace=c.namespace,
        service=c.service,
        predicts=c.predicts,
        probability=c.probability,
        support=c.occurrences,
        lag_s=c.median_lag_s,
        p_value=c.p_value,
        prevention=c.prevention,
    )
    meta = MemoryMetadata(
        alert_type=None if is_change else c.trigger, namespace=c.namespace, service=c.service, pattern=pattern
    )
    salience = 0.4 + 0.55 * c.probability * min(1.0, c.occurrences / FULL_SUPPORT)
    content = f"{c.description}. Prevention: {c.prevention}"
    return _insight(("correlation", c.trigger, c.namespace, c.predicts, c.service), "semantic", content, meta, salience)


def _temporal(t: TemporalPattern) -> MemoryAdd:
    when = f"before {WEEKDAYS[t.weekday]} {t.hour:02d}:00" if t.weekday is not None else f"before {t.hour:02d}:00"
    prevention = f"add capacity for {t.signal} {when}" if t.source == "series" else f"expect {t.signal} {when}"
    pattern = MemoryPattern(
        kind="temporal",
        namespace=t.namespace,
        predicts=t.predicts,
        probability=t.probability,
        support=t.support,
        weekday=t.weekday,
        hour=t.hour,
        ratio=min(t.ratio, 999.0),
        p_value=t.p_value,
        prevention=prevention,
    )
    meta = MemoryMetadata(alert_type=t.predicts, namespace=t.namespace, pattern=pattern)
    salience = 0.4 + 0.55 * t.probability * min(1.0, t.ratio / FULL_RATIO)
    identity = ("temporal", t.signal, t.namespace, t.weekday, t.hour)
    return _insight(identity, "temporal", f"{t.description}. Prevention: {prevention}", meta, salience)


def _exhaustion(f: ExhaustionForecast) -> MemoryAdd:
    pattern = MemoryPattern(kind="exhaustion", namespace=f.namespace, predicts="H2", prevention="free or add capacity")
    meta = MemoryMetadata(alert_type="H2", namespace=f.namespace, pattern=pattern)
    return _insight(("exhaustion", f.series), "temporal", f.description, meta, 0.5)


def _failure(f: FailurePattern) -> MemoryAdd:
    prevention = f"use {f.known_fix}" if f.known_fix else "escalate to a person: nothing has worked yet"
    pattern = MemoryPattern(
        kind="failure", namespace=f.namespace, service=f.service, support=f.incidents, prevention=prevention
    )
    meta = MemoryMetadata(
        alert_type=f.alert_type, namespace=f.namespace, service=f.service, method=f.known_fix, pattern=pattern
    )
    return _insight(("failure", f.alert_type, f.namespace, f.service), "procedural", f.description, meta, 0.6)


def _tuning(t: PlaybookTuning) -> MemoryAdd:
    pattern = MemoryPattern(
        kind="tuning", probability=t.confidence, support=t.successes + t.failures, prevention=t.verdict
    )
    meta = MemoryMetadata(alert_type=t.alert_type, method=t.playbook, pattern=pattern)
    return _insight(("tuning", t.alert_type, t.playbook), "procedural", t.description, meta, 0.6)


def insight_memories(report: AnalysisReport, now: dt.datetime) -> list[MemoryAdd]:
    """Every finding worth remembering, stamped with the analysis time."""
    items = (
        [_correlation(c) for c in report.correlations]
        + [_temporal(t) for t in report.temporal]
        + [_exhaustion(f) for f in report.exhaustion if f.exhausted_at is not None]
        + [_failure(f) for f in report.failures]
        + [_tuning(t) for t in report.tuning]
    )
    return [item.evolve(time=now) for item in items]
