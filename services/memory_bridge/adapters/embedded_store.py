"""The embedded backend: memories in one SQLite file, found through an in-memory vector index of a local
embedding (embedding.py, no model, no download). The default when no OpenMemory is configured.

The file holds everything (records, their vectors, Healer's salience bookkeeping); the index is rebuilt from
it at start, so the file is the only state to back up. The thin path's table (`memories`, one JSON record per
row) is imported once on first open. Calls are synchronous under `async def`: each is a few SQLite statements
and a numpy product, well under a millisecond to a few, so they run on the event loop without awaiting.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from healer_common.contract.memory import MEMORY_TYPES, MemoryMetadata, MemoryRecord, MemoryStats, MemoryType
from services.memory_bridge.backend import Candidate, MemoryFilter
from services.memory_bridge.embedding import DIMENSIONS, embed
from services.memory_bridge.vector_index import IndexRow, VectorIndex

_SCHEMA = """
create table if not exists memory_records (
    memory_id text primary key,
    type text not null,
    content text not null,
    tags text not null,
    metadata text not null,
    alert_type text,
    cluster text,
    insight integer not null,
    salience real not null,
    reinforcements integer not null,
    created_at real not null,
    last_accessed_at real not null,
    vector blob not null
);
create index if not exists memory_records_created on memory_records (created_at);
"""
_COLUMNS = "memory_id, type, content, tags, metadata, salience, reinforcements, created_at, last_accessed_at"


def _epoch(value: dt.datetime) -> float:
    return value.timestamp()


def _time(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _record(row: tuple[Any, ...]) -> MemoryRecord:
    memory_id, memory_type, content, tags, metadata, salience, reinforcements, created, accessed = row
    return MemoryRecord(
        memory_id=memory_id,
        type=memory_type,
        content=content,
        tags=json.loads(tags),
        metadata=MemoryMetadata.model_validate_json(metadata),
        salience=salience,
        reinforcements=reinforcements,
        created_at=_time(created),
        last_accessed_at=_time(accessed),
    )


class EmbeddedStore:
    """SQLite + VectorIndex behind the MemoryBackend interface."""

    name = "embedded"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("pragma journal_mode = wal")
        self._db.execute("pragma synchronous = normal")
        self._db.executescript(_SCHEMA)
        (rows,) = self._db.execute("select count(*) from memory_records").fetchone()
        self._index = VectorIndex(DIMENSIONS, capacity=rows + rows // 8 + 1024)
        self._load()
        self._import_thin_path_table()

    def _import_thin_path_table(self) -> None:
        """Carry the thin path's memories (table `memories`, a JSON record per row) over, once."""
        found = self._db.execute("select name from sqlite_master where type = 'table' and name = 'memories'")
        if found.fetchone() is None:
            return
        for (raw,) in self._db.execute("select record from memories").fetchall():
            self._insert(MemoryRecord.model_validate_json(raw))
        self._db.execute("drop table memories")
        self._db.commit()

    def _load(self) -> None:
        rows = self._db.execute(
            "select memory_id, type, alert_type, cluster, insight, salience, last_accessed_at, vector "
            "from memory_records"
        )
        for memory_id, memory_type, alert_type, cluster, insight, salience, accessed, blob in rows:
            vector = np.frombuffer(blob, dtype=np.float32)
            self._index.put(
                IndexRow(memory_id, vector, memory_type, alert_type, cluster, bool(insight), salience, accessed)
            )

    def _insert(self, record: MemoryRecord) -> None:
        vector = embed(record.content)
        meta = record.metadata
        self._db.execute(
            "insert or replace into memory_records values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.memory_id,
                record.type,
                record.content,
                json.dumps(record.tags),
                meta.model_dump_json(),
                meta.alert_type,
                meta.cluster,
                meta.pattern is not None,
                record.salience,
                record.reinforcements,
                _epoch(record.created_at),
                _epoch(record.last_accessed_at),
                vector.tobytes(),
            ),
        )
        self._index.put(
            IndexRow(
                record.memory_id,
                vector,
                record.type,
                meta.alert_type,
                meta.cluster,
                meta.pattern is not None,
                record.salience,
                _epoch(record.last_accessed_at),
            )
        )

    async def add(self, record: MemoryRecord, key: str) -> tuple[str, bool]:
        del key  # the record's id is its key here
        if record.memory_id in self._index:
            return record.memory_id, True
        self._insert(record)
        self._db.commit()
        return record.memory_id, False

    def _fetch(self, ids: list[str]) -> dict[str, MemoryRecord]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(f"select {_COLUMNS} from memory_records where memory_id in ({marks})", ids)  # noqa: S608 - placeholders only
        return {row[0]: _record(row) for row in rows}

    async def get(self, memory_id: str) -> MemoryRecord | None:
        return self._fetch([memory_id]).get(memory_id)

    async def find_insight(self, key: str) -> MemoryRecord | None:
        record = await self.get(key)
        return record if record is not None and record.metadata.pattern is not None else None

    async def update(self, record: MemoryRecord) -> None:
        self._insert(record)
        self._db.commit()

    async def reinforce(self, record: MemoryRecord, boost: float) -> None:
        del boost  # the record already carries its new salience
        self._db.execute(
            "update memory_records set salience = ?, reinforcements = ?, last_accessed_at = ? where memory_id = ?",
            (record.salience, record.reinforcements, _epoch(record.last_accessed_at), record.memory_id),
        )
        self._db.commit()
        self._index.touch(record.memory_id, record.salience, _epoch(record.last_accessed_at))

    async def search(self, text: str, limit: int, where: MemoryFilter) -> list[Candidate]:
        found = self._index.search(embed(text), limit, where)
        records = self._fetch([memory_id for memory_id, _ in found])
        return [Candidate(records[memory_id], sim) for memory_id, sim in found if memory_id in records]

    async def newest(self, limit: int, offset: int = 0, memory_type: MemoryType | None = None) -> list[MemoryRecord]:
        where, args = ("where type = ?", [memory_type]) if memory_type else ("", [])
        rows = self._db.execute(
            f"select {_COLUMNS} from memory_records {where} order by created_at desc limit ? offset ?",  # noqa: S608 - fixed text
            [*args, limit, offset],
        )
        return [_record(row) for row in rows]

    async def insights(self) -> list[MemoryRecord]:
        return list(self._fetch(self._index.insight_ids()).values())

    async def census(self, now: dt.datetime, floor: float) -> MemoryStats:
        index = self._index
        salience = index.current_salience(now)
        types = index.types[: index.size]
        reinforced = self._db.execute("select count(*) from memory_records where reinforcements > 0").fetchone()[0]
        return MemoryStats(
            backend=self.name,
            total=index.size,
            by_type={t: int((types == i).sum()) for i, t in enumerate(MEMORY_TYPES) if (types == i).any()},
            selectable=int((salience >= floor).sum()),
            reinforced=int(reinforced),
            patterns=len(index.insight_ids()),
            average_salience=float(salience.mean()) if salience.size else 0.0,
        )

    async def close(self) -> None:
        self._db.close()
