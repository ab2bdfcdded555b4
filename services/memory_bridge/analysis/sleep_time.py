"""One sleep-time analysis: history in, report out. Correlations get their prevention from what is known to
fix the alert they predict (the playbook tuning of the same window). `sections` limits it to some parts
(schedule.py's jobs each compute their own); all of them by default. Called by `healer analyze` and by
memory-bridge when idle; pure.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import CATALOGUE
from healer_common.settings import MemorySettings
from services.memory_bridge.analysis.correlations import find_correlations
from services.memory_bridge.analysis.exhaustion import forecast_exhaustion
from services.memory_bridge.analysis.failures import find_failure_patterns, tune_playbooks
from services.memory_bridge.analysis.history import History
from services.memory_bridge.analysis.report import AnalysisCounts, AnalysisReport, Correlation, PlaybookTuning
from services.memory_bridge.analysis.temporal import find_temporal_patterns


def prevention(correlation: Correlation, tuning: list[PlaybookTuning]) -> str:
    """What to do when the trigger fires, before what it predicts arrives."""
    where = correlation.service or correlation.namespace or "the cluster"
    fixes = [t for t in tuning if t.alert_type == correlation.predicts and t.successes]
    entry = CATALOGUE.get(correlation.predicts)
    name = entry.name if entry else correlation.predicts
    if not fixes:
        return f"when {correlation.trigger} fires in {correlation.namespace}, watch {where} for {name}"
    best = max(fixes, key=lambda t: t.confidence)
    return (
        f"when {correlation.trigger} fires in {correlation.namespace}, act on {where} before {name}: "
        f"{best.playbook} fixed {correlation.predicts} {best.successes} of {best.successes + best.failures} times"
    )


ALL_SECTIONS = frozenset({"correlations", "temporal", "exhaustion", "failures", "tuning"})


def analyze(
    history: History, settings: MemorySettings, now: dt.datetime, sections: frozenset[str] = ALL_SECTIONS
) -> AnalysisReport:
    history.finish()
    series = history.series() if sections & {"temporal", "exhaustion"} else []
    tuning = tune_playbooks(history.remediations) if "tuning" in sections else []
    correlations = (
        find_correlations(
            history.occurrences, history.start, history.end, settings.correlation_window_s, settings.min_support
        )
        if "correlations" in sections
        else []
    )
    start, end, support = history.start, history.end, settings.min_support
    return AnalysisReport(
        generated_at=now,
        window_start=history.start,
        window_end=history.end,
        counts=AnalysisCounts(
            alerts=sum(1 for o in history.occurrences if not o.is_change),
            changes=sum(1 for o in history.occurrences if o.is_change),
            remediations=len(history.remediations),
            series=len(series),
        ),
        correlations=[c.model_copy(update={"prevention": prevention(c, tuning)}) for c in correlations],
        temporal=find_temporal_patterns(history.occurrences, series, start, end, support)
        if "temporal" in sections
        else [],
        exhaustion=forecast_exhaustion(series, now, settings.exhaustion_threshold, settings.exhaustion_horizon_s)
        if "exhaustion" in sections
        else [],
        failures=find_failure_patterns(history.remediations, support) if "failures" in sections else [],
        tuning=tuning,
    )
