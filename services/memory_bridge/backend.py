"""The one interface memory-bridge's two backends share: the embedded store (adapters/embedded_store.py, the
default) and OpenMemory over HTTP (adapters/openmemory_store.py). The bridge (bridge.py) talks only to this.

A backend keeps records and finds candidates; what is relevant, what is selected and how sure memory is of a
fix are decided above it, the same way for both, so that both pass one behavioural test suite.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from healer_common.contract.memory import MemoryRecord, MemoryStats, MemoryType


@dataclass(frozen=True)
class MemoryFilter:
    """Which records a search may return: hard filters, and the salience floor at `now`."""

    now: dt.datetime
    type: MemoryType | None = None
    alert_type: str | None = None
    cluster: str | None = None
    min_salience: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """A record a search found, with the cosine of Healer's embedding of the query and of its content (0-1)."""

    record: MemoryRecord
    similarity: float


class MemoryBackend(Protocol):
    """Long-term storage of MemoryRecords. Salience, reinforcements and times in a record are Healer's own
    bookkeeping (decay.py); a backend stores what it is given."""

    name: str

    async def add(self, record: MemoryRecord, key: str) -> tuple[str, bool]:
        """Store a new record; `key` is its identity (the add's event id). Returns the memory id and whether an
        identical memory already existed (nothing is stored twice)."""
        ...

    async def get(self, memory_id: str) -> MemoryRecord | None: ...

    async def find_insight(self, key: str) -> MemoryRecord | None:
        """The insight (a memory with a pattern) added under `key`, if any."""
        ...

    async def update(self, record: MemoryRecord) -> None:
        """Store a changed record (its content, metadata, salience, reinforcements or times)."""
        ...

    async def reinforce(self, record: MemoryRecord, boost: float) -> None:
        """Store a record that was just reinforced by `boost` (decay.reinforced)."""
        ...

    async def search(self, text: str, limit: int, where: MemoryFilter) -> list[Candidate]:
        """Up to `limit` records passing `where`, the most similar to `text` first."""
        ...

    async def newest(
        self, limit: int, offset: int = 0, memory_type: MemoryType | None = None
    ) -> list[MemoryRecord]: ...

    async def insights(self) -> list[MemoryRecord]:
        """Every memory that carries a pattern (a few hundred at most: the analysis keeps one per pattern)."""
        ...

    async def census(self, now: dt.datetime, floor: float) -> MemoryStats: ...

    async def close(self) -> None: ...
