"""Sleep-time analysis in the embedded default: memory-bridge analyses the last week of history once nothing
has happened for a while (no alert, no open incident for `analysis_idle_s`), at most once per
`analysis_interval_s` (a failed attempt counts, so an outage of NATS is not met with an analysis a minute),
and learns the insights directly. In a cluster the healer-analyze CronJob does the
same nightly through `healer analyze`.
"""

from __future__ import annotations

import datetime as dt

from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from services.memory_bridge.adapters.analysis_runner import run_analysis
from services.memory_bridge.analysis.report import AnalysisReport
from services.memory_bridge.foresight import Foresight


class IdleAnalysis:
    def __init__(self, settings: Settings, foresight: Foresight) -> None:
        self.settings = settings
        self.foresight = foresight
        self.last_run: dt.datetime | None = None

    def due(self, now: dt.datetime) -> bool:
        memory = self.settings.memory
        rested = self.foresight.recent.idle_for(now) >= memory.analysis_idle_s
        spaced = self.last_run is None or (now - self.last_run).total_seconds() >= memory.analysis_interval_s
        return rested and spaced

    async def run(self, now: dt.datetime) -> AnalysisReport:
        """Analyse the window up to `now` and remember what was found; patterns are re-read afterwards."""
        self.last_run = now
        start = now - dt.timedelta(seconds=self.settings.memory.analysis_window_s)
        async with BusClient(self.settings, name="healer-memory-bridge-analysis") as bus:
            report = await run_analysis(bus, self.settings.memory, start, now, self.foresight.bridge.remember)
        self.foresight.forget_patterns()
        return report
