"""The sandbox's time-series database: every simulated series scraped at one interval into a ring of rows
(one row per scrape, one column per series), kept for a retention window, and read back as Prometheus
does (an instant vector at a time, a range matrix at steps, with its 5-minute lookback).

A series absent from a scrape is stale from that scrape on (Prometheus' staleness markers), so a deleted
pod's series ends at once and its replacement starts a series of its own. Columns of series that have had
no sample for a whole retention window are reused, so memory stays flat however long the sandbox runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

LOOKBACK_S = 300.0
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series than this
Sample = tuple[str, Mapping[str, str], float]
LabelSet = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Point:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Curve:
    labels: dict[str, str]
    points: list[tuple[float, float]]


class SeriesStore:
    def __init__(self, capacity: int, columns: int = 256) -> None:
        self.capacity = capacity
        self.times = np.full(capacity, np.nan)
        self.values: npt.NDArray[np.float64] = np.full((capacity, columns), np.nan)
        self.head = 0
        self.rows = 0
        self._column: dict[tuple[str, LabelSet], int] = {}
        self._key: dict[int, tuple[str, LabelSet]] = {}
        self._by_name: dict[str, set[int]] = defaultdict(set)
        self._free: list[int] = list(range(columns - 1, -1, -1))

    @property
    def names(self) -> list[str]:
        return sorted(name for name, columns in self._by_name.items() if columns)

    @property
    def series_count(self) -> int:
        return len(self._column)

    def record(self, when: float, samples: Iterable[Sample]) -> None:
        """One scrape at `when` (Unix seconds): every series in `samples`; the others go stale."""
        row = self.head
        self.times[row] = when
        self.values[row, :] = np.nan
        for name, labels, value in samples:
            column = self._column_of(name, labels)  # first: it may widen self.values
            self.values[row, column] = value
        self.head = (row + 1) % self.capacity
        self.rows = min(self.rows + 1, self.capacity)
        if self.head == 0:
            self._reclaim()

    def _column_of(self, name: str, labels: Mapping[str, str]) -> int:
        key = (name, tuple(sorted(labels.items())))
        column = self._column.get(key)
        if column is None:
            if not self._free:
                self._grow()
            column = self._free.pop()
            self._column[key], self._key[column] = column, key
            self._by_name[name].add(column)
        return column

    def _grow(self) -> None:
        old = self.values.shape[1]
        wider = np.full((self.capacity, old * 2), np.nan)
        wider[:, :old] = self.values
        self.values = wider
        self._free.extend(range(old * 2 - 1, old - 1, -1))

    def _reclaim(self) -> None:
        """Free the columns of series with no sample in the whole window (pods long gone)."""
        empty = np.all(np.isnan(self.values), axis=0)
        for column, key in list(self._key.items()):
            if empty[column]:
                del self._column[key], self._key[column]
                self._by_name[key[0]].discard(column)
                self._free.append(column)

    def _ordered(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        rows = (np.arange(self.rows) + (self.head - self.rows)) % self.capacity
        return rows, self.times[rows]

    def _labels(self, column: int) -> dict[str, str]:
        return dict(self._key[column][1])

    def instant(self, name: str, at: float) -> list[Point]:
        """The value of each series of `name` at `at`: from the last scrape at or before it, within lookback."""
        rows, times = self._ordered()
        index = int(np.searchsorted(times, at, side="right")) - 1
        if self.rows == 0 or index < 0 or at - times[index] > LOOKBACK_S:
            return []
        row = rows[index]
        found = []
        for column in sorted(self._by_name.get(name, ())):
            value = self.values[row, column]
            if not np.isnan(value):
                found.append(Point(self._labels(column), float(value)))
        return found

    def range(self, name: str, start: float, end: float, step: float) -> list[Curve]:
        """Each series of `name` evaluated at start, start+step, ... end, as query_range does."""
        if self.rows == 0:
            return []
        evaluations = np.arange(start, end + step / 2, step)
        rows, times = self._ordered()
        index = np.searchsorted(times, evaluations, side="right") - 1
        safe = np.where(index >= 0, index, 0)
        valid = (index >= 0) & (evaluations - times[safe] <= LOOKBACK_S)
        curves = []
        for column in sorted(self._by_name.get(name, ())):
            values = self.values[rows[safe], column]
            keep = valid & ~np.isnan(values)
            if keep.any():
                points = [(float(t), float(v)) for t, v in zip(evaluations[keep], values[keep], strict=True)]
                curves.append(Curve(self._labels(column), points))
        return curves
