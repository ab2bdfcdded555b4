"""The OpenMemory backend: Healer's memories kept in an OpenMemory server over its HTTP API (`/memory/*`).

How Healer's records map onto OpenMemory (openmemory.md §8):

- sector, forced through `metadata.sector`: factual and semantic -> semantic, episodic and temporal ->
  episodic, procedural -> procedural; insights (memories with a pattern) -> reflective.
- tags: the record's own, plus `type:`, `alert:`, `ns:` and `cluster:` ones.
- `metadata.healer`: the whole record as Healer keeps it: full text (OpenMemory may store only a 200-character
  "essence"), the seed's metadata, and Healer's salience bookkeeping (decay.py). OpenMemory's own salience
  is not used: every query hit adds 0.5 to it, and its reinforce is a no-op on SQLite at HEAD. Healer still
  calls `/memory/reinforce` after a memory helped, reads the memory back and logs whether that worked.
- Search: OpenMemory's query has no metadata filter and its scores are z-scores, so the bridge asks for more
  candidates than it needs, keeps their order only as a candidate list, filters them by Healer's metadata
  and salience, and scores them with Healer's own embedding (embedding.py), exactly as the embedded store
  does. Queries reinforce hits on the server; that touches only OpenMemory's salience.
- `user_id` is sent only when configured (servers <= 1.3.0 scope by it; newer ones by the key).

Records are cached by id (this bridge is their only writer), so a search costs one query plus a GET per
memory not seen before.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from typing import Any

from healer_common.clock import Clock
from healer_common.contract.memory import MemoryMetadata, MemoryRecord, MemoryStats, MemoryType
from healer_common.logging import get_logger
from services.memory_bridge.adapters.openmemory_client import OpenMemoryClient
from services.memory_bridge.backend import Candidate, MemoryFilter
from services.memory_bridge.census import census_of
from services.memory_bridge.decay import current_salience
from services.memory_bridge.embedding import cosine, embed

SECTOR_OF: dict[MemoryType, str] = {
    "factual": "semantic",
    "semantic": "semantic",
    "episodic": "episodic",
    "temporal": "episodic",
    "procedural": "procedural",
}
TYPE_OF_SECTOR: dict[str, MemoryType] = {
    "semantic": "semantic",
    "episodic": "episodic",
    "procedural": "procedural",
    "reflective": "semantic",
    "emotional": "episodic",
}
INSIGHT_SECTOR = "reflective"
MAX_K = 200
PAGE = 10_000
CACHE_SIZE = 50_000
PARALLEL_GETS = 8
log = get_logger()


def _ms(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value: Any, default: dt.datetime) -> dt.datetime:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC) if isinstance(value, int | float) else default


def sector_of(record: MemoryRecord) -> str:
    return INSIGHT_SECTOR if record.metadata.pattern is not None else SECTOR_OF[record.type]


def to_openmemory(record: MemoryRecord, key: str) -> dict[str, Any]:
    meta = record.metadata
    labels = (("alert", meta.alert_type), ("ns", meta.namespace), ("cluster", meta.cluster))
    extra = [f"type:{record.type}"] + [f"{name}:{value}" for name, value in labels if value]
    healer = record.model_dump(mode="json", exclude={"memory_id"})
    return {
        "content": record.content,
        "tags": list(dict.fromkeys([*record.tags, *extra]))[:64],
        "metadata": {"sector": sector_of(record), "healer": {**healer, "key": key}},
    }


def from_openmemory(item: dict[str, Any], now: dt.datetime) -> MemoryRecord:
    """A record from an OpenMemory item; memories Healer did not write are read as best they can be."""
    healer = (item.get("metadata") or {}).get("healer")
    if isinstance(healer, dict):
        fields = {k: v for k, v in healer.items() if k != "key"}
        return MemoryRecord.model_validate({**fields, "memory_id": item["id"]})
    created = _from_ms(item.get("created_at"), now)
    return MemoryRecord(
        memory_id=item["id"],
        type=TYPE_OF_SECTOR.get(str(item.get("primary_sector")), "semantic"),
        content=item.get("content") or "(empty)",
        metadata=MemoryMetadata(),
        tags=[str(t) for t in item.get("tags") or []],
        salience=min(1.0, max(0.0, float(item.get("salience") or 0.0))),
        created_at=created,
        last_accessed_at=_from_ms(item.get("last_seen_at"), created),
    )


def _passes(record: MemoryRecord, where: MemoryFilter) -> bool:
    meta = record.metadata
    return (
        (where.type is None or record.type == where.type)
        and (where.alert_type is None or meta.alert_type == where.alert_type)
        and (where.cluster is None or meta.cluster in (None, where.cluster))
        and current_salience(record, where.now) >= where.min_salience
    )


class OpenMemoryStore:
    """OpenMemory behind the MemoryBackend interface."""

    name = "openmemory"

    def __init__(self, client: OpenMemoryClient, clock: Clock) -> None:
        self.client = client
        self._now = clock.now
        self._cache: OrderedDict[str, MemoryRecord] = OrderedDict()
        self._keys: dict[str, str] = {}
        self.reinforce_effective: bool | None = None

    def _read(self, item: dict[str, Any]) -> MemoryRecord:
        """A record from an item, its Healer key noted so that an update keeps it."""
        key = ((item.get("metadata") or {}).get("healer") or {}).get("key")
        if isinstance(key, str):
            self._keys[str(item["id"])] = key
        return from_openmemory(item, self._now())

    def _remember(self, record: MemoryRecord) -> MemoryRecord:
        self._cache[record.memory_id] = record
        self._cache.move_to_end(record.memory_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return record

    def _scoped(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "user_id": self.client.user_id} if self.client.user_id else body

    async def health(self) -> dict[str, Any]:
        answer = await self.client.call("GET", "/health")
        return answer if isinstance(answer, dict) else {}

    async def add(self, record: MemoryRecord, key: str) -> tuple[str, bool]:
        answer = await self.client.call("POST", "/memory/add", body=self._scoped(to_openmemory(record, key)))
        memory_id = str(answer["id"])
        if answer.get("deduplicated"):
            return memory_id, True
        self._keys[memory_id] = key
        self._remember(record.model_copy(update={"memory_id": memory_id}))
        return memory_id, False

    async def get(self, memory_id: str) -> MemoryRecord | None:
        if memory_id in self._cache:
            return self._cache[memory_id]
        item = await self.client.call("GET", f"/memory/{memory_id}")
        return None if item is None else self._remember(self._read(item))

    async def _items(self, sector: str | None = None, limit: int = PAGE, offset: int = 0) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"l": limit, "u": offset, **({"sector": sector} if sector else {})}
        answer = await self.client.call("GET", "/memory/all", params=params)
        return list((answer or {}).get("items") or [])

    async def insights(self) -> list[MemoryRecord]:
        records = [self._read(item) for item in await self._items(INSIGHT_SECTOR)]
        return [self._remember(r) for r in records if r.metadata.pattern is not None]

    async def find_insight(self, key: str) -> MemoryRecord | None:
        for item in await self._items(INSIGHT_SECTOR):
            if ((item.get("metadata") or {}).get("healer") or {}).get("key") == key:
                return self._remember(self._read(item))
        return None

    async def update(self, record: MemoryRecord) -> None:
        known = self._cache.get(record.memory_id)
        body = to_openmemory(record, self._keys.get(record.memory_id, record.memory_id))
        if known is not None and known.content == record.content:
            del body["content"]  # unchanged text is not re-embedded
        await self.client.call("PATCH", f"/memory/{record.memory_id}", body=body)
        self._remember(record)

    async def reinforce(self, record: MemoryRecord, boost: float) -> None:
        await self.update(record)
        before = await self.client.call("GET", f"/memory/{record.memory_id}")
        await self.client.call("POST", "/memory/reinforce", body={"id": record.memory_id, "boost": boost})
        after = await self.client.call("GET", f"/memory/{record.memory_id}")
        if before is not None and after is not None:
            self.reinforce_effective = float(after.get("salience", 0)) > float(before.get("salience", 0))
            log.info("openmemory_reinforced", memory_id=record.memory_id, effective=self.reinforce_effective)

    async def search(self, text: str, limit: int, where: MemoryFilter) -> list[Candidate]:
        body = self._scoped({"query": text[:8192], "k": min(MAX_K, 2 * limit)})
        answer = await self.client.call("POST", "/memory/query", body=body)
        ids = [str(m["id"]) for m in (answer or {}).get("matches") or []]
        gate = asyncio.Semaphore(PARALLEL_GETS)

        async def fetch(memory_id: str) -> MemoryRecord | None:
            async with gate:
                return await self.get(memory_id)

        records = await asyncio.gather(*(fetch(i) for i in ids))
        query = embed(text)
        kept = [r for r in records if r is not None and _passes(r, where)]
        return [Candidate(r, cosine(query, embed(r.content))) for r in kept[:limit]]

    async def newest(self, limit: int, offset: int = 0, memory_type: MemoryType | None = None) -> list[MemoryRecord]:
        sector = SECTOR_OF[memory_type] if memory_type else None
        records = [self._read(item) for item in await self._items(sector, limit, offset)]
        return [r for r in records if memory_type is None or r.type == memory_type]

    async def census(self, now: dt.datetime, floor: float) -> MemoryStats:
        records: list[MemoryRecord] = []
        while page := await self._items(limit=PAGE, offset=len(records)):
            records.extend(self._read(item) for item in page)
            if len(page) < PAGE:
                break
        return census_of(records, now, floor, self.name)

    async def close(self) -> None:
        await self.client.close()
