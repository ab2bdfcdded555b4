"""Emissions as CloudEvents on `healer.events.<source>.<kind>`, each naming its cluster.

    conditions -> healer.condition.v1 on .condition, one event each, in order
    samples    -> healer.metrics.v1 on .metrics, batched (at most `BATCH` samples per event)
    changes    -> healer.change.v1 on .change (the detector forwards them on healer.changes.<cluster>)
    logs       -> healer.log.v1 on .log

Ids (the CloudEvents `id`, from which contract/headers.py derives the `Nats-Msg-Id`): a change or a log
line is identified by what it is (its key), so the same rollout or line read twice is stored once; a
condition transition is new by construction (transitions.py emits it once), so its id is fresh, and fixed
for the retries of its publish. Pure: outbox.py publishes them.
"""

from __future__ import annotations

import datetime as dt
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
)
from healer_common.contract.headers import event_headers
from healer_common.contract.messages import new_id, stable_id
from healer_common.contract.subjects import SubjectSpace
from services.collector.observations import Emission

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


def _envelope(space: SubjectSpace, subject: str, event: CloudEvent, kind: str) -> Envelope:
    return Envelope(subject, encode(event), event_headers(space, subject, event), kind)


def envelopes(
    space: SubjectSpace, cluster: str, source: str, emission: Emission, now: dt.datetime
) -> Iterator[Envelope]:
    common = {"specversion": "1.0", "source": producer(source), "time": now, "cluster": cluster}
    for observation in emission.conditions:
        event = ConditionEvent(type="healer.condition.v1", id=new_id(), data=observation.condition, **common)
        yield _envelope(space, space.events(source, "condition"), event, "condition")
    for change in emission.changes:
        change_id = stable_id(cluster, "change", change.key)
        deliberate = ChangeEvent(type="healer.change.v1", id=change_id, data=change.data, **common)
        yield _envelope(space, space.events(source, "change"), deliberate, "change")
    for start in range(0, len(emission.samples), BATCH):
        batch = MetricBatchData(samples=emission.samples[start : start + BATCH])
        metrics = MetricBatchEvent(type="healer.metrics.v1", id=new_id(), data=batch, **common)
        yield _envelope(space, space.events(source, "metrics"), metrics, "metrics")
    for record in emission.logs:
        line_id = stable_id(cluster, "log", record.key)
        line = LogEvent(type="healer.log.v1", id=line_id, data=record.data, **{**common, "time": record.time})
        yield _envelope(space, space.events(source, "log"), line, "log")
