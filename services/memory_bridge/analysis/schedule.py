"""Sleep-time on the seed's cadence: each analysis its own job, with how often it runs and how much history it
reads, so the cheap ones run often and the heavy ones rarely, and none waits for the others:

    correlations   every 2 h     over 7 days     alert A followed by alert B
    patterns       every 4 h     over 30 days    failure patterns and their known fixes
    prediction     every hour    over 7 days     resource exhaustion from the rollups' trends
    temporal       every day     over 21 days    daily and weekly hours from the rollups
    tuning         every week    over 30 days    trust / review / avoid per playbook

A job runs only while the cluster is quiet (no alert, no open incident for `analysis_idle_s`) and when its
interval has passed since it last ran; one job at a time, the most overdue first. `memory.sleep_jobs` changes
any of them. Pure; adapters/idle.py runs what `due` hands back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from healer_common.settings.memory import SleepJob

SECTIONS: dict[str, frozenset[str]] = {
    "correlations": frozenset({"correlations", "tuning"}),  # a correlation's prevention names the fix that works
    "patterns": frozenset({"failures"}),
    "prediction": frozenset({"exhaustion"}),
    "temporal": frozenset({"temporal"}),
    "tuning": frozenset({"tuning"}),
}
"""Which parts of the report (sleep_time.analyze) each job computes."""


def due(jobs: Mapping[str, SleepJob], last_runs: Mapping[str, dt.datetime], now: dt.datetime) -> list[str]:
    """Jobs whose interval has passed since they last ran, the most overdue first (never run: first of all)."""

    def overdue(name: str) -> float:
        last = last_runs.get(name)
        return float("inf") if last is None else (now - last).total_seconds() - jobs[name].every_s

    return sorted((name for name in jobs if overdue(name) >= 0), key=lambda n: (-overdue(n), n))
