"""The embedded store's in-memory index: one row per memory with its vector and the few columns searches
filter on (type, alert type, cluster, insight or not, salience and its clock), held as numpy arrays.

A search is one matrix-vector product over the rows that pass the filters (vectorised, decay included),
then a partial sort: exact nearest neighbours with no approximate structure to build or tune. The product
runs in numpy's own single-threaded loop rather than BLAS, whose threads contend for the cores of a busy
machine (a p99 of ~100 ms there, ~6 ms this way): about 3 ms for 100,000 memories of 256 float32
dimensions, which take 100 MB (int8 codes took a quarter of that but twice the time, and more under load).
The rows are rebuilt from the SQLite file at start (embedded_store.py). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from healer_common.contract.memory import MEMORY_TYPES, MemoryType
from services.memory_bridge.backend import MemoryFilter
from services.memory_bridge.decay import DAY_S, DECAY_RATES
from services.memory_bridge.embedding import DIMENSIONS, Vector

_RATES = np.asarray(DECAY_RATES, dtype=np.float64)


def _dot(rows: npt.NDArray[np.float32], query: Vector) -> npt.NDArray[np.float32]:
    """Each row's dot product with the query, without BLAS threads (see the module's docstring)."""
    sims: npt.NDArray[np.float32] = np.einsum("ij,j->i", rows, query)
    return sims


_TYPE_CODE = {t: i for i, t in enumerate(MEMORY_TYPES)}


@dataclass(frozen=True)
class IndexRow:
    """What the index keeps of one memory."""

    memory_id: str
    vector: Vector
    type: MemoryType
    alert_type: str | None
    cluster: str | None
    insight: bool
    salience: float
    last_accessed: float
    """epoch seconds"""


class VectorIndex:
    def __init__(self, dimensions: int = DIMENSIONS, capacity: int = 1024) -> None:
        self.dimensions = dimensions
        self.size = 0
        self._ids: list[str] = []
        self._row: dict[str, int] = {}
        self._labels: dict[str, int] = {}
        self.vectors = np.zeros((capacity, dimensions), dtype=np.float32)
        self.types = np.zeros(capacity, dtype=np.int8)
        self.alerts = np.zeros(capacity, dtype=np.int32)
        self.clusters = np.zeros(capacity, dtype=np.int32)
        self.insight = np.zeros(capacity, dtype=np.bool_)
        self.salience = np.zeros(capacity, dtype=np.float64)
        self.last_accessed = np.zeros(capacity, dtype=np.float64)

    def _grow(self) -> None:
        """Add half again to every column's capacity, keeping the rows (vectors are most of the RSS)."""
        for name in ("vectors", "types", "alerts", "clusters", "insight", "salience", "last_accessed"):
            old = getattr(self, name)
            new = np.zeros((len(old) + len(old) // 2 + 1, *old.shape[1:]), dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def __contains__(self, memory_id: str) -> bool:
        return memory_id in self._row

    def _label(self, value: str | None) -> int:
        """A small integer per distinct alert type or cluster name; 0 is "none"."""
        if value is None:
            return 0
        return self._labels.setdefault(value, len(self._labels) + 1)

    def put(self, row: IndexRow) -> None:
        """Add a row, or overwrite the row of the same memory."""
        i = self._row.get(row.memory_id)
        if i is None:
            if self.size == len(self.types):
                self._grow()
            i = self.size
            self.size += 1
            self._ids.append(row.memory_id)
            self._row[row.memory_id] = i
        self.vectors[i] = row.vector
        self.types[i] = _TYPE_CODE[row.type]
        self.alerts[i] = self._label(row.alert_type)
        self.clusters[i] = self._label(row.cluster)
        self.insight[i] = row.insight
        self.touch(row.memory_id, row.salience, row.last_accessed)

    def touch(self, memory_id: str, salience: float, last_accessed: float) -> None:
        i = self._row[memory_id]
        self.salience[i] = salience
        self.last_accessed[i] = last_accessed

    def current_salience(self, now: dt.datetime) -> npt.NDArray[np.float64]:
        n = self.size
        days = np.maximum(0.0, (now.timestamp() - self.last_accessed[:n]) / DAY_S)
        return self.salience[:n] * np.exp(-_RATES[self.types[:n]] * days)

    def _mask(self, where: MemoryFilter) -> npt.NDArray[np.bool_]:
        n = self.size
        ok = np.ones(n, dtype=np.bool_)
        if where.type is not None:
            ok &= self.types[:n] == _TYPE_CODE[where.type]
        if where.alert_type is not None:
            ok &= self.alerts[:n] == self._labels.get(where.alert_type, -1)
        if where.cluster is not None:
            ok &= (self.clusters[:n] == self._labels.get(where.cluster, -1)) | (self.clusters[:n] == 0)
        if where.min_salience > 0:
            ok &= self.current_salience(where.now) >= where.min_salience
        return ok

    def search(self, query: Vector, limit: int, where: MemoryFilter) -> list[tuple[str, float]]:
        """Up to `limit` (memory id, cosine) pairs passing `where`, most similar first.

        A selective filter (an alert type) scores only its rows; otherwise every row is scored at once.
        """
        rows = np.flatnonzero(self._mask(where))
        count = min(limit, len(rows))
        if count == 0:
            return []
        if len(rows) < self.size // 2:
            sims = _dot(self.vectors[rows], query)
        else:
            sims = _dot(self.vectors[: self.size], query)[rows]
        top = np.argpartition(-sims, count - 1)[:count]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self._ids[rows[i]], max(0.0, float(sims[i]))) for i in top]

    def insight_ids(self) -> list[str]:
        n = self.size
        return [self._ids[i] for i in np.flatnonzero(self.insight[:n])]
