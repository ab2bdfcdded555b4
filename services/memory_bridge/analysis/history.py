"""The history the analysis reads, in the shape it reasons about: alert and change occurrences, finished
remediations, and metric series as means per bucket: the 5-minute rollups memory-bridge keeps for 8 weeks
(healer_common.contract.rollups), or raw samples averaged per minute where no rollup covers them.

Built message by message from what the bus stored (adapters/analysis_runner.py feeds it); messages that are not
alerts, changes, remediations, rollups or metric samples are skipped. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent, MetricBatchEvent, MetricEvent
from healer_common.contract.remediations import Remediation
from healer_common.contract.rollups import RollupBatch
from services.memory_bridge.occurrences import Occurrence, from_alert, from_change

MINUTE_S = 60


@dataclass(frozen=True)
class SeriesKey:
    """One metric series: its name and labels (the cluster travels in the event)."""

    name: str
    labels: tuple[tuple[str, str], ...]

    @property
    def namespace(self) -> str | None:
        return dict(self.labels).get("namespace")

    def __str__(self) -> str:
        return f"{self.name}{{{','.join(f'{k}={v}' for k, v in self.labels)}}}" if self.labels else self.name


@dataclass(frozen=True)
class Series:
    key: SeriesKey
    times: npt.NDArray[np.float64]
    """epoch seconds, the start of each minute with samples"""
    values: npt.NDArray[np.float64]
    """the mean of each minute's samples"""


@dataclass
class History:
    start: dt.datetime
    end: dt.datetime
    occurrences: list[Occurrence] = field(default_factory=list)
    _runs: dict[str, Remediation] = field(default_factory=dict)
    _minutes: dict[SeriesKey, dict[int, tuple[float, int]]] = field(default_factory=lambda: defaultdict(dict))

    def within(self, when: dt.datetime) -> bool:
        return self.start <= when <= self.end

    def add_alert(self, alert: Alert) -> None:
        if alert.firing and self.within(alert.starts_at):
            self.occurrences.append(from_alert(alert))

    def add_change(self, change: ChangeEvent, stored_at: dt.datetime) -> None:
        occurrence = from_change(change, stored_at)
        if self.within(occurrence.time):
            self.occurrences.append(occurrence)

    def add_remediation(self, run: Remediation) -> None:
        """A finished run; a later final state of the same run (failed, then rolled back) replaces it."""
        if run.final and self.within(run.finished_at or run.time):
            self._runs[run.remediation_id] = run

    @property
    def remediations(self) -> list[Remediation]:
        return sorted(self._runs.values(), key=lambda r: r.finished_at or r.time)

    def add_sample(self, name: str, labels: dict[str, str], value: float, when: dt.datetime) -> None:
        if not self.within(when):
            return
        minute = int(when.timestamp()) // MINUTE_S * MINUTE_S
        bucket = self._minutes[SeriesKey(name, tuple(sorted(labels.items())))]
        total, count = bucket.get(minute, (0.0, 0))
        bucket[minute] = (total + value, count + 1)

    def add_rollup(self, batch: RollupBatch) -> None:
        """A 5-minute bucket of every series; two replicas' parts of one bucket add up by their counts."""
        if not self.within(batch.bucket_start):
            return
        bucket = int(batch.bucket_start.timestamp())
        for row in batch.series:
            buckets = self._minutes[SeriesKey(row.name, tuple(sorted(row.labels.items())))]
            total, count = buckets.get(bucket, (0.0, 0))
            buckets[bucket] = (total + row.mean * row.count, count + row.count)

    def add_metrics(self, event: MetricEvent | MetricBatchEvent, stored_at: dt.datetime) -> None:
        when = event.time or stored_at
        if isinstance(event, MetricEvent):
            self.add_sample(event.data.name, event.data.labels, event.data.value, when)
            return
        for sample in event.data.samples:
            self.add_sample(sample.name, sample.labels, sample.value, sample.time or when)

    def series(self) -> list[Series]:
        found = []
        for key, minutes in self._minutes.items():
            ordered = sorted(minutes.items())
            times = np.asarray([m for m, _ in ordered], dtype=np.float64)
            values = np.asarray([total / count for _, (total, count) in ordered], dtype=np.float64)
            found.append(Series(key, times, values))
        return found

    def finish(self) -> History:
        """Occurrences in time order (the miners rely on it)."""
        self.occurrences.sort(key=lambda o: o.time)
        return self
