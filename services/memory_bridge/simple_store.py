"""A small SQLite memory store for the thin path: add, list, and keyword search.

It keeps the embedded default working until the full embedded backend (vector index, decay, selection)
lands; it stores the same MemoryRecord shape so the data carries over.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from healer_common.clock import Clock
from healer_common.memory import MemoryAdd, MemoryAdded, MemoryAnswer, MemoryMatch, MemoryQuery, MemoryRecord

_SCHEMA = """
create table if not exists memories (
    memory_id text primary key,
    created_at text not null,
    record text not null
);
"""


class SimpleMemoryStore:
    def __init__(self, path: Path, clock: Clock) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.executescript(_SCHEMA)
        self._clock = clock
        self._lock = asyncio.Lock()

    def close(self) -> None:
        self._db.close()

    async def add(self, item: MemoryAdd) -> MemoryAdded:
        now = self._clock.now()
        record = MemoryRecord(
            memory_id=item.event_id,
            type=item.type,
            content=item.content,
            metadata=item.metadata,
            tags=item.tags,
            salience=0.5,
            created_at=now,
            last_accessed_at=now,
        )
        async with self._lock:
            cursor = self._db.execute(
                "insert or ignore into memories (memory_id, created_at, record) values (?, ?, ?)",
                (record.memory_id, now.isoformat(), record.model_dump_json()),
            )
            self._db.commit()
        return MemoryAdded(memory_id=record.memory_id, deduplicated=cursor.rowcount == 0)

    async def all(self, limit: int = 100) -> list[MemoryRecord]:
        async with self._lock:
            rows = self._db.execute("select record from memories order by created_at desc limit ?", (limit,)).fetchall()
        return [MemoryRecord.model_validate_json(r[0]) for r in rows]

    async def query(self, question: MemoryQuery) -> MemoryAnswer:
        words = {w.lower() for w in question.text.split() if len(w) > 2}
        scored = []
        for record in await self.all(limit=10_000):
            if question.alert_type and record.metadata.alert_type != question.alert_type:
                continue
            text = record.content.lower()
            hits = sum(1 for w in words if w in text)
            if hits:
                relevance = hits / max(1, len(words))
                scored.append(MemoryMatch(record=record, relevance=relevance, score=relevance))
        scored.sort(key=lambda m: m.score, reverse=True)
        return MemoryAnswer(matches=scored[: question.limit], backend="embedded-simple")
