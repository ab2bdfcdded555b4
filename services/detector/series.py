"""Metric series by number: every (cluster, metric name, labels) the detector has seen gets a small integer,
so per-series state lives in numpy arrays indexed by it and a batch of samples updates them at once.

`SeriesIndex.batch` turns a `healer.metrics.v1` batch into per-metric arrays of series numbers, values and
times: the one loop over samples in Python on the hot path, kept to a dict lookup per sample (labels in the
order the producer sent them; a new order costs one sort, then is remembered too).

Pure; called by handlers.py and by the CLI, which feed it the same way.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from healer_common.contract import partitions
from healer_common.contract.events import ResourceRef

# The contract's label -> kind table (the partitions route by it), and a namespace-wide series (requests,
# quota) is about its namespace.
RESOURCE_LABELS: tuple[tuple[str, str], ...] = (*partitions.RESOURCE_LABELS, ("namespace", "Namespace"))
CLUSTER_SCOPED = partitions.CLUSTER_SCOPED | {"Namespace"}


def resource_of(labels: Mapping[str, str]) -> ResourceRef | None:
    """The object a series is about, from its labels (a container metric names its pod and container)."""
    for label, kind in RESOURCE_LABELS:
        if name := labels.get(label):
            namespace = None if kind in CLUSTER_SCOPED else labels.get("namespace")
            container = labels.get("container") if kind == "Pod" else None
            return ResourceRef(kind=kind, namespace=namespace, name=name[:253], container=container)
    return None


SeriesKey = tuple[str, tuple[str, ...], tuple[str, ...]]
"""(metric name, label names, label values) in the producer's order: cheap to build from a sample, and
compact to keep (100,000 of them must fit in well under 256 MiB with everything else)."""


class Series:
    """One series; labels are kept as the key's two tuples (interned strings), a dict only when asked."""

    __slots__ = ("cluster", "key")

    def __init__(self, cluster: str, key: SeriesKey) -> None:
        self.cluster = cluster
        self.key = key

    @property
    def name(self) -> str:
        return self.key[0]

    @property
    def labels(self) -> dict[str, str]:
        return dict(zip(self.key[1], self.key[2], strict=True))

    @property
    def namespace(self) -> str | None:
        names, values = self.key[1], self.key[2]
        return values[names.index("namespace")] if "namespace" in names else None

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


_LABEL_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}


def _interned(key: SeriesKey) -> SeriesKey:
    """The key with shared strings and one label-names tuple per distinct set, not one per series."""
    name, names, values = key
    shared = _LABEL_NAMES.setdefault(names, tuple(sys.intern(n) for n in names))
    return sys.intern(name), shared, tuple(sys.intern(v) for v in values)


class SeriesIndex:
    def __init__(self) -> None:
        # per cluster: key in the producer's label order -> series number; and the hash of the sorted labels
        # -> series number, so that another producer's order finds the same series (checked on misses only)
        self._numbers: dict[str, dict[SeriesKey, int]] = {}
        self._sorted: dict[str, dict[int, int]] = {}
        self._metric_ids: dict[str, int] = {}
        self._metric_of = np.zeros(1024, np.int64)
        self.series: list[Series] = []

    def __len__(self) -> int:
        return len(self.series)

    def number(self, cluster: str, name: str, labels: Mapping[str, str]) -> int:
        table = self._numbers.setdefault(cluster, {})
        key = (name, tuple(labels), tuple(labels.values()))
        found = table.get(key)
        if found is None:
            sorted_hash = hash((name, tuple(sorted(labels.items()))))
            by_hash = self._sorted.setdefault(cluster, {})
            found = by_hash.get(sorted_hash)
            if found is None:
                found = by_hash[sorted_hash] = self._add(Series(cluster, _interned(key)))
            table[self.series[found].key if self.series[found].key == key else _interned(key)] = found
        return found

    def _add(self, series: Series) -> int:
        number = len(self.series)
        self.series.append(series)
        if number == self._metric_of.size:
            self._metric_of = np.concatenate([self._metric_of, np.zeros(number, np.int64)])
        self._metric_of[number] = self._metric_ids.setdefault(series.name, len(self._metric_ids))
        return number

    def batch(
        self, cluster: str, samples: Iterable[Sample], default_time: float, wanted: Mapping[str, object]
    ) -> dict[str, MetricBatch]:
        """Samples of the metrics in `wanted`, grouped by metric name; other metrics are skipped unindexed."""
        chosen = [s for s in samples if s.name in wanted]
        if not chosen:
            return {}
        table = self._numbers.setdefault(cluster, {})
        found = [table.get((s.name, tuple(s.labels), tuple(s.labels.values()))) for s in chosen]
        if None in found:
            found = [
                self.number(cluster, s.name, s.labels) if n is None else n for s, n in zip(chosen, found, strict=True)
            ]
        numbers = np.fromiter(found, np.int64, len(found))
        values = np.fromiter((s.value for s in chosen), np.float64, len(chosen))
        times = np.fromiter(
            (default_time if s.time is None else s.time.timestamp() for s in chosen), np.float64, len(chosen)
        )
        return self._grouped(numbers, values, times)

    def _grouped(
        self, numbers: npt.NDArray[np.int64], values: npt.NDArray[np.float64], times: npt.NDArray[np.float64]
    ) -> dict[str, MetricBatch]:
        metric_ids = self._metric_of[numbers]
        names = {i: n for n, i in self._metric_ids.items()}
        if np.all(metric_ids == metric_ids[0]):
            return {names[int(metric_ids[0])]: MetricBatch(numbers, values, times)}
        groups = {}
        for metric_id in np.unique(metric_ids):
            mask = metric_ids == metric_id
            groups[names[int(metric_id)]] = MetricBatch(numbers[mask], values[mask], times[mask])
        return groups
