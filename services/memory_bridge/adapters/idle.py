"""Sleep-time analysis in memory-bridge: each job of `memory.sleep_jobs` (analysis/schedule.py: correlations
every 2 h, patterns every 4 h, prediction hourly, temporal daily, tuning weekly) runs over its own window once
its interval has passed, only while nothing is happening (no alert, no open incident for `analysis_idle_s`),
one job per turn, and learns its insights directly. A failed attempt counts as a run, so an outage of NATS is
not met with an analysis a minute. In a cluster the healer-analyze CronJob can run everything nightly too.
"""

from __future__ import annotations

import datetime as dt

from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from services.memory_bridge.adapters.analysis_runner import run_analysis
from services.memory_bridge.analysis.report import AnalysisReport
from services.memory_bridge.analysis.schedule import SECTIONS, due
from services.memory_bridge.foresight import Foresight


class IdleAnalysis:
    def __init__(self, settings: Settings, foresight: Foresight) -> None:
        self.settings = settings
        self.foresight = foresight
        self.last_runs: dict[str, dt.datetime] = {}

    def next_job(self, now: dt.datetime) -> str | None:
        """The most overdue job, when the cluster is quiet; None otherwise."""
        memory = self.settings.memory
        if self.foresight.recent.idle_for(now) < memory.analysis_idle_s:
            return None
        return next(iter(due(memory.sleep_jobs, self.last_runs, now)), None)

    async def run(self, job: str, now: dt.datetime) -> AnalysisReport:
        """Analyse the job's window up to `now` and remember what was found; patterns are re-read afterwards."""
        self.last_runs[job] = now
        start = now - dt.timedelta(seconds=self.settings.memory.sleep_jobs[job].window_s)
        async with BusClient(self.settings, name="healer-memory-bridge-analysis") as bus:
            remember = self.foresight.bridge.remember
            report = await run_analysis(bus, self.settings.memory, start, now, remember, sections=SECTIONS[job])
        self.foresight.forget_patterns()
        return report
