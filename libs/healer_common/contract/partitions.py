"""Which partition of the event stream an event belongs to, so that everything the detector keeps about one
object is judged in one place.

The detector's state about an object (its metric series' lanes, trends and baselines, its held conditions,
the order of its events) must live in one replica. So events are published on
`{root}.events.<source>.<kind>.<partition>`, the partition a stable hash of the object they are about:

    a condition                     its object (cluster/Kind/namespace/name; the container does not count)
    a metric sample                 the object its labels name (pod, PVC, node ... as the detector reads them),
                                    else the series itself (cluster, name, labels)
    a log line                      its stream (cluster and the first of app, pod, namespace; else its source)

so a pod's OOMKilled condition, its memory series and its PodDeleted all land in the same partition. A metric
batch about many objects is split into one batch per partition. The number of partitions (`bus.partitions`)
is fixed for an installation: publishers and the detector must agree on it (it is in the shared settings).

Events published without a partition (`healer.events.custom.<source>` by your systems, the CLI) are taken by
the detector's intake and republished here, split the same way. Pure: collectors, the ingest and the detector
call it.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator, Mapping

from healer_common.contract.events import (
    CloudEvent,
    ConditionEvent,
    LogEvent,
    MetricBatchData,
    MetricBatchEvent,
    MetricEvent,
    MetricSample,
)

# Signal label -> the kind of object a series is about, most specific first (signals.py conventions).
RESOURCE_LABELS: tuple[tuple[str, str], ...] = (
    ("pod", "Pod"),
    ("persistentvolumeclaim", "PersistentVolumeClaim"),
    ("certificate", "Certificate"),
    ("secret", "Secret"),
    ("database", "Database"),
    ("queue", "Queue"),
    ("service", "Service"),
    ("deployment", "Deployment"),
    ("application", "Application"),
    ("coderun", "CodeRun"),
    ("node", "Node"),
    ("target", "Probe"),
)
CLUSTER_SCOPED = frozenset({"Node", "Probe"})
STREAM_LABELS = ("app", "pod", "namespace")
"""The labels that name a log stream, first found wins (log_signatures.py mines templates per stream)."""


def object_key(cluster: str, kind: str, namespace: str | None, name: str) -> str:
    """`cluster/Kind/namespace/name`: one object, whatever container or series of it is meant."""
    return f"{cluster}/{kind}/{namespace or '-'}/{name}"


def series_object(labels: Mapping[str, str]) -> tuple[str, str | None, str] | None:
    """(kind, namespace, name) of the object a series is about, from its labels; None for a series of nothing."""
    for label, kind in RESOURCE_LABELS:
        if name := labels.get(label):
            namespace = None if kind in CLUSTER_SCOPED else labels.get("namespace")
            return kind, namespace, name[:253]
    return None


def sample_key(cluster: str, name: str, labels: Mapping[str, str]) -> str:
    if (found := series_object(labels)) is not None:
        return object_key(cluster, *found)
    return f"{cluster}/{name}/{sorted(labels.items())}"


def log_stream_key(cluster: str, labels: Mapping[str, str], source: str) -> str:
    return cluster + "/" + next((f"{k}={labels[k]}" for k in STREAM_LABELS if k in labels), source)


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for `key` (CRC-32: the same in every process and version, unlike hash())."""
    return zlib.crc32(key.encode()) % partitions


def event_key(event: CloudEvent) -> str | None:
    """The object a single-object event is about; None for a metric batch (split per sample) or a change."""
    match event:
        case ConditionEvent():
            resource = event.data.resource
            return object_key(event.cluster, resource.kind, resource.namespace, resource.name)
        case MetricEvent():
            return sample_key(event.cluster, event.data.name, event.data.labels)
        case LogEvent():
            return log_stream_key(event.cluster, event.data.labels, event.source)
    return None


def split(event: CloudEvent, partitions: int) -> Iterator[tuple[int, CloudEvent]]:
    """The event's parts by partition: one part for a single-object event, one batch per partition for a
    metric batch (ids `<id>.p<n>`, so each part is stored once and told apart from its siblings). Nothing for
    an event the detector does not keep state about (a change)."""
    if isinstance(event, MetricBatchEvent):
        by_partition: dict[int, list[MetricSample]] = defaultdict(list)
        for sample in event.data.samples:
            by_partition[partition_of(sample_key(event.cluster, sample.name, sample.labels), partitions)].append(sample)
        if len(by_partition) == 1:
            yield next(iter(by_partition)), event
            return
        for part, samples in sorted(by_partition.items()):
            data = MetricBatchData.model_construct(samples=samples)  # already validated, as part of the batch
            yield part, event.model_copy(update={"id": f"{event.id}.p{part}", "data": data})
        return
    if (key := event_key(event)) is not None:
        yield partition_of(key, partitions), event


def assignment(parts: list[str], instances: list[str]) -> dict[str, str]:
    """Which replica should serve each part: dealt out in turn over the replicas in a fixed order, so every
    replica computes the same plan from the same list and each serves as many parts as another, give or take
    one. Adding or losing a replica moves parts; their state moves with them through checkpoints."""
    ordered = sorted(set(instances))
    return {part: ordered[i % len(ordered)] for i, part in enumerate(parts)} if ordered else {}
