"""Metric series by number: every (cluster, metric name, labels) the detector has seen gets a small integer,
so per-series state lives in numpy arrays indexed by it and a batch of samples updates them at once.

`SeriesIndex.batch` turns a `healer.metrics.v1` batch into per-metric arrays of series numbers, values and
times: the one loop over samples in Python on the hot path, kept to a dict lookup per sample (labels in the
order the producer sent them; a new order costs one sort, then is remembered too).

Pure; called by handlers.py and by the CLI, which feed it the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from healer_common.events import ResourceRef

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


def resource_of(labels: Mapping[str, str]) -> ResourceRef | None:
    """The object a series is about, from its labels (a container metric names its pod and container)."""
    for label, kind in RESOURCE_LABELS:
        if name := labels.get(label):
            namespace = None if kind in CLUSTER_SCOPED else labels.get("namespace")
            container = labels.get("container") if kind == "Pod" else None
            return ResourceRef(kind=kind, namespace=namespace, name=name[:253], container=container)
    return None


@dataclass(frozen=True)
class Series:
    cluster: str
    name: str
    labels: dict[str, str]

    @property
    def namespace(self) -> str | None:
        return self.labels.get("namespace")

    def text(self) -> str:
        """PromQL-style `name{k="v",...}` for evidence people read."""
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{inner}}}"


@dataclass
class MetricBatch:
    """The samples of one metric name in a batch, as arrays."""

    series: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    times: npt.NDArray[np.float64]  # unix seconds


class Sample(Protocol):
    """A metric sample as the contract carries it (events.MetricSample, or a single metric's data)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def labels(self) -> Mapping[str, str]: ...
    @property
    def time(self) -> dt.datetime | None: ...


class SeriesIndex:
    def __init__(self) -> None:
        self._numbers: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
        self.series: list[Series] = []

    def __len__(self) -> int:
        return len(self.series)

    def number(self, cluster: str, name: str, labels: Mapping[str, str]) -> int:
        key = (cluster, name, tuple(labels.items()))
        found = self._numbers.get(key)
        if found is None:
            canonical = (cluster, name, tuple(sorted(labels.items())))
            found = self._numbers.get(canonical)
            if found is None:
                found = len(self.series)
                self.series.append(Series(cluster, name, dict(canonical[2])))
                self._numbers[canonical] = found
            self._numbers[key] = found
        return found

    def batch(
        self, cluster: str, samples: Iterable[Sample], default_time: float, wanted: Mapping[str, object]
    ) -> dict[str, MetricBatch]:
        """Samples of the metrics in `wanted`, grouped by metric name; other metrics are skipped unindexed."""
        numbers: dict[str, list[int]] = {}
        values: dict[str, list[float]] = {}
        times: dict[str, list[float]] = {}
        for sample in samples:
            name = sample.name
            if name not in wanted:
                continue
            if name not in numbers:
                numbers[name], values[name], times[name] = [], [], []
            numbers[name].append(self.number(cluster, name, sample.labels))
            values[name].append(sample.value)
            when = sample.time
            times[name].append(default_time if when is None else when.timestamp())
        return {
            name: MetricBatch(
                np.fromiter(numbers[name], np.int64, len(numbers[name])),
                np.fromiter(values[name], np.float64, len(values[name])),
                np.fromiter(times[name], np.float64, len(times[name])),
            )
            for name in numbers
        }
