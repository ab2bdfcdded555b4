"""Rollups: the downsampled history of every metric series, on `healer.rollups.<cluster>` (stream ROLLUPS,
kept 8 weeks by default), so that sleep-time analysis finds daily and weekly patterns and week-long trends
after the raw events (kept a day) are gone.

memory-bridge folds the metric samples it reads into one summary per series per `bucket_s` (5 minutes) and
publishes each closed bucket as one or more `RollupBatch`es. Sized: a series costs about 90 bytes a bucket
in JSON, so 1,000 series kept 8 weeks (16,128 buckets) take about 1.5 GB in the stream; 100 series, 150 MB.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from healer_common.contract.messages import Frozen, Labels, Message

BUCKET_S = 300.0
MAX_SERIES_PER_BATCH = 2_000
"""A bucket's series are split into batches of at most this many (about 180 KB), under NATS's 1 MB payload."""


class RollupSeries(Frozen):
    """One series over one bucket: how many samples, and their mean, least and greatest value."""

    name: str
    labels: Labels = Field(default_factory=dict)
    count: int = Field(ge=1)
    mean: float
    min: float
    max: float


class RollupBatch(Message):
    """Series summaries of one cluster for the bucket starting at `bucket_start`."""

    cluster: str
    bucket_start: AwareDatetime
    bucket_s: float = Field(BUCKET_S, gt=0)
    series: list[RollupSeries] = Field(default_factory=list, max_length=MAX_SERIES_PER_BATCH)
