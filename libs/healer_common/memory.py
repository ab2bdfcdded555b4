"""Long-term memory records and the request/reply contract of memory-bridge (`healer.memory.query` / `.add`).

Types follow the seed and map onto OpenMemory's sectors (see memory-bridge): factual -> semantic,
episodic -> episodic, semantic -> semantic, procedural -> procedural, temporal -> episodic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.messages import Frozen, Message

MemoryType = Literal["factual", "episodic", "semantic", "procedural", "temporal"]
MEMORY_TYPES: tuple[MemoryType, ...] = ("factual", "episodic", "semantic", "procedural", "temporal")


class MemoryMetadata(Frozen):
    """The seed's metadata: what kind of incident, where, what was done and whether it worked."""

    alert_type: str | None = None
    namespace: str | None = None
    service: str | None = None
    cluster: str | None = None
    success: bool | None = None
    duration_s: float | None = Field(default=None, ge=0)
    method: str | None = Field(default=None, description="the playbook or action that was applied")
    pr_url: str | None = None
    incident_id: str | None = None
    remediation_id: str | None = None


class MemoryRecord(Frozen):
    memory_id: str
    type: MemoryType
    content: str = Field(min_length=1, max_length=200_000)
    metadata: MemoryMetadata = Field(default_factory=MemoryMetadata)
    tags: list[str] = Field(default_factory=list)
    salience: float = Field(ge=0.0, le=1.0)
    reinforcements: int = Field(default=0, ge=0)
    created_at: AwareDatetime
    last_accessed_at: AwareDatetime


class MemoryMatch(Frozen):
    record: MemoryRecord
    relevance: float = Field(ge=0.0, le=1.0)
    score: float = Field(description="the selection score: 40% relevance, 30% recency, 30% success")


class MemoryQuery(Message):
    """A question to memory-bridge (request/reply on `healer.memory.query`)."""

    text: str = Field(min_length=1, max_length=8_192)
    limit: int = Field(default=10, ge=1, le=200)
    type: MemoryType | None = None
    alert_type: str | None = None
    namespace: str | None = None
    service: str | None = None
    cluster: str | None = None


class Recommendation(Frozen):
    """What worked before on this kind of incident, and how sure memory is of it.

    The remediator applies it directly when `confidence` is above its threshold (0.9 by default) and names
    `memory_id` and `confidence` in its audit.
    """

    method: str = Field(description="the playbook (or action type) that fixed it")
    confidence: float = Field(ge=0.0, le=1.0)
    memory_id: str = Field(description="the memory this rests on (the strongest, if several)")
    successes: int = Field(ge=0)
    failures: int = Field(ge=0)
    summary: str = ""
    params: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class MemoryAnswer(Message):
    matches: list[MemoryMatch] = Field(default_factory=list)
    recommendation: Recommendation | None = None
    backend: str = "embedded"
    error: str | None = None

    @property
    def successes(self) -> list[MemoryMatch]:
        return [m for m in self.matches if m.record.metadata.success is True]

    @property
    def failures(self) -> list[MemoryMatch]:
        return [m for m in self.matches if m.record.metadata.success is False]


class MemoryAdd(Message):
    content: str = Field(min_length=1, max_length=200_000)
    type: MemoryType = "factual"
    metadata: MemoryMetadata = Field(default_factory=MemoryMetadata)
    tags: list[str] = Field(default_factory=list)


class MemoryAdded(Message):
    memory_id: str
    deduplicated: bool = False
