"""The downsampled history sleep-time reads: memory-bridge folds the metric samples it sees into 5-minute
rollups on the ROLLUPS stream, and after three weeks of them `healer analyze` finds the daily and weekly
hours planted in them, long after the raw events (kept a day) would have gone.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from healer_common.contract.codec import decode
from healer_common.contract.events import MetricBatchEvent
from healer_common.contract.partitions import split
from healer_common.contract.rollups import RollupBatch
from healer_common.contract.streams import ROLLUPS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, write_settings
from tests.integration.test_memory_cli import healer
from tests.support.analysis_history import generate

pytestmark = pytest.mark.integration


def metrics_at(when: dt.datetime, value: float) -> MetricBatchEvent:
    samples = [
        {"name": "queue_depth", "value": value + i, "labels": {"namespace": "cto", "queue": "builds"}, "time": t}
        for i, t in enumerate((when.isoformat(), (when + dt.timedelta(seconds=30)).isoformat()))
    ]
    return MetricBatchEvent.model_validate(
        {
            "specversion": "1.0",
            "id": f"m-{when.timestamp()}",
            "source": "prometheus",
            "type": "healer.metrics.v1",
            "data": {"samples": samples},
        }
    )


async def rollups_stored(bus: BusClient) -> list[RollupBatch]:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    return [
        decode(RollupBatch, m.data) async for m in bus.history(ROLLUPS, since, filter_subject=bus.space.all_rollups)
    ]


async def test_memory_bridge_rolls_the_samples_it_reads_into_five_minute_summaries(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.configure("memory", rollup_grace_s=0.0)
    services.start("memory-bridge")
    await services.wait_running("memory-bridge")
    bucket = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=20)
    bucket -= dt.timedelta(minutes=bucket.minute % 5)

    event = metrics_at(bucket + dt.timedelta(minutes=1), 40.0)
    subject = bus.space.events("prometheus", "metrics")
    for partition, part in split(event, bus.settings.scale.partitions):  # as a collector publishes them
        await bus.publish_raw(bus.space.in_partition(subject, partition), part.model_dump_json().encode())

    [batch] = await eventually(
        lambda: rollups_stored(bus), timeout=90, interval=1.0, what="the bucket's rollup on ROLLUPS"
    )
    [series] = batch.series
    assert batch.bucket_start == bucket
    assert (series.name, series.count, series.mean, series.min, series.max) == ("queue_depth", 2, 40.5, 40.0, 41.0)


async def test_after_three_weeks_of_rollups_healer_analyze_finds_the_planted_daily_and_weekly_hours(
    services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = now - dt.timedelta(days=22)
    weeks = generate(seed=3, start=start - dt.timedelta(days=start.weekday()), days=21)
    for batch in weeks.rollups():
        await bus.publish(batch)

    config = write_settings(services.settings, tmp_path / "healer.yaml")
    out = tmp_path / "report.json"
    result = healer(config, "analyze", "--since", "29d", "--output", str(out))

    assert out.is_file(), result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["counts"]["series"] == 3, result.stderr
    found = {(p["signal"], p["weekday"], p["hour"]) for p in report["temporal"] if p["source"] == "series"}
    assert ("node_cpu_usage_ratio{node=n1}", None, 2) in found, "every day at 02:00"
    assert ("queue_depth{namespace=cto,queue=builds}", 0, 9) in found, "Mondays at 09:00"
