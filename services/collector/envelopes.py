"""Emissions as CloudEvents on `healer.events.<source>.<kind>.<partition>`, each naming its cluster.

    conditions -> healer.condition.v1 on .condition.<n>, one event each, in order
    samples    -> healer.metrics.v1 on .metrics.<n>, batched per partition (at most `BATCH` samples per event)
    changes    -> healer.change.v1 on .change (the detector forwards them on healer.changes.<cluster>)
    logs       -> healer.log.v1 on .log.<n>

The partition is the object's (contract/partitions.py), so everything about one object reaches the detector
replica that judges it, in the order it was observed.

Ids (the CloudEvents `id`, from which contract/headers.py derives the `Nats-Msg-Id`): a change or a log
line is identified by what it is (its key), so the same rollout or line read twice is stored once; a
condition by its occurrence when it has one (`_condition_id`), else it is new by construction (transitions.py
emits it once), so its id is fresh, and fixed for the retries of its publish. Pure: outbox.py publishes them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from healer_common.contract.codec import encode
from healer_common.contract.events import (
    ChangeEvent,
    CloudEvent,
    ConditionEvent,
    LogEvent,
    MetricBatchData,
    MetricBatchEvent,
    MetricSample,
)
from healer_common.contract.headers import event_headers
from healer_common.contract.messages import new_id, stable_id
from healer_common.contract.partitions import event_key, partition_of, sample_key
from healer_common.contract.subjects import SubjectSpace
from services.collector.observations import Emission, Observation

BATCH = 5_000


@dataclass(frozen=True)
class Envelope:
    subject: str
    body: bytes
    headers: dict[str, str]
    kind: str


def producer(source: str) -> str:
    """The CloudEvents `source` attribute of what the collector publishes for one of its sources."""
    return f"/healer/collector/{source}"


def _condition_id(cluster: str, observation: Observation) -> str:
    """A condition with an occurrence (an OOM kill at a time, a crash loop at a restart count) is identified by
    it: a collector taking over a cluster after another (which starts by reading everything afresh) says it
    again with the same id, which the stream drops. One without (a recovery) is new each time it is said."""
    if not observation.occurrence:
        return new_id()
    return stable_id(cluster, "condition", observation.condition.resource.key, *observation.identity)


def _envelope(space: SubjectSpace, subject: str, event: CloudEvent, kind: str, partitions: int = 0) -> Envelope:
    """The event on `subject`, in its object's partition when `partitions` is given."""
    if partitions and (key := event_key(event)) is not None:
        subject = space.in_partition(subject, partition_of(key, partitions))
    return Envelope(subject, encode(event), event_headers(space, subject, event), kind)


def envelopes(
    space: SubjectSpace, cluster: str, source: str, emission: Emission, now: dt.datetime, *, partitions: int
) -> Iterator[Envelope]:
    common = {"specversion": "1.0", "source": producer(source), "time": now, "cluster": cluster}
    for observation in emission.conditions:
        event = ConditionEvent(
            type="healer.condition.v1", id=_condition_id(cluster, observation), data=observation.condition, **common
        )
        yield _envelope(space, space.events(source, "condition"), event, "condition", partitions)
    for change in emission.changes:
        change_id = stable_id(cluster, "change", change.key)
        deliberate = ChangeEvent(type="healer.change.v1", id=change_id, data=change.data, **common)
        yield _envelope(space, space.events(source, "change"), deliberate, "change")
    by_partition: dict[int, list[MetricSample]] = defaultdict(list)
    for sample in emission.samples:
        by_partition[partition_of(sample_key(cluster, sample.name, sample.labels), partitions)].append(sample)
    subject = space.events(source, "metrics")
    for partition, samples in sorted(by_partition.items()):
        for start in range(0, len(samples), BATCH):
            batch = MetricBatchData(samples=samples[start : start + BATCH])
            metrics = MetricBatchEvent(type="healer.metrics.v1", id=new_id(), data=batch, **common)
            placed = space.in_partition(subject, partition)
            yield Envelope(placed, encode(metrics), event_headers(space, placed, metrics), "metrics")
    for record in emission.logs:
        line_id = stable_id(cluster, "log", record.key)
        line = LogEvent(type="healer.log.v1", id=line_id, data=record.data, **{**common, "time": record.time})
        yield _envelope(space, space.events(source, "log"), line, "log", partitions)
