"""Folding metric samples into 5-minute rollups: per cluster, per bucket, per series the count, sum, least and
greatest value. A bucket is closed once `grace_s` has passed after its end (samples arrive a little late);
a sample that comes later still (a backfill, a slow collector) opens its bucket again, and is published in
one more batch for it, which the reader adds to the first by their counts (analysis/history.py).

memory-bridge's handlers feed it the metric batches it reads and publish what `closed` hands back, so the
ROLLUPS stream holds the history that sleep-time analysis reads (healer_common.contract.rollups). Pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from healer_common.contract.events import MetricSample
from healer_common.contract.messages import stable_id
from healer_common.contract.rollups import BUCKET_S, MAX_SERIES_PER_BATCH, RollupBatch, RollupSeries

SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass
class _Summary:
    count: int = 0
    total: float = 0.0
    least: float = float("inf")
    most: float = float("-inf")

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.least = min(self.least, value)
        self.most = max(self.most, value)


@dataclass
class RollupBook:
    instance: str
    bucket_s: float = BUCKET_S
    grace_s: float = 60.0
    _open: dict[tuple[str, float], dict[SeriesKey, _Summary]] = field(default_factory=dict)
    _published: int = 0

    def add(self, cluster: str, samples: Iterable[MetricSample], default_time: dt.datetime) -> None:
        for sample in samples:
            when = (sample.time or default_time).timestamp()
            bucket = when - when % self.bucket_s
            key = (sample.name, tuple(sorted(sample.labels.items())))
            self._open.setdefault((cluster, bucket), {}).setdefault(key, _Summary()).add(float(sample.value))

    def closed(self, now: dt.datetime) -> list[RollupBatch]:
        """Every bucket that ended `grace_s` ago or more, as batches ready to publish (then forgotten)."""
        limit = now.timestamp() - self.grace_s - self.bucket_s
        due = sorted(k for k in self._open if k[1] <= limit)
        return [batch for key in due for batch in self._batches(key, self._open.pop(key), now)]

    def _batches(
        self, key: tuple[str, float], series: dict[SeriesKey, _Summary], now: dt.datetime
    ) -> list[RollupBatch]:
        cluster, bucket = key
        start = dt.datetime.fromtimestamp(bucket, dt.UTC)
        rows = [
            RollupSeries(name=name, labels=dict(labels), count=s.count, mean=s.total / s.count, min=s.least, max=s.most)
            for (name, labels), s in sorted(series.items())
        ]
        chunks = [rows[i : i + MAX_SERIES_PER_BATCH] for i in range(0, len(rows), MAX_SERIES_PER_BATCH)]
        self._published += len(chunks)
        return [
            RollupBatch(
                event_id=stable_id("rollup", cluster, bucket, self.instance, self._published, index),
                cluster=cluster,
                bucket_start=start,
                bucket_s=self.bucket_s,
                series=chunk,
                time=now,
            )
            for index, chunk in enumerate(chunks)
        ]
