"""Long-term memory records and the request/reply contract of memory-bridge (`healer.memory.query`, `.add`,
`.list`, `.stats`, `.predict`).

Types follow the seed and map onto OpenMemory's sectors (see memory-bridge): factual -> semantic,
episodic -> episodic, semantic -> semantic, procedural -> procedural, temporal -> episodic; insights of the
sleep-time analysis (memories that carry a `pattern`) go to the reflective sector whatever their type.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.messages import Frozen, Message
from healer_common.contract.remediations import ScalarParam

MemoryType = Literal["factual", "episodic", "semantic", "procedural", "temporal"]
MEMORY_TYPES: tuple[MemoryType, ...] = ("factual", "episodic", "semantic", "procedural", "temporal")
PatternKind = Literal["correlation", "change", "temporal", "failure", "exhaustion", "tuning"]


class MemoryPattern(Frozen):
    """What an insight of the sleep-time analysis found, in a form current conditions can be matched against.

    correlation / change: `trigger` (an alert id, or `change:<what>`) in `namespace` is followed within `lag_s`
    by `predicts` (on `service`, when known) with `probability`; temporal: `ratio` times the normal rate of
    `predicts` (or of a series) at `weekday`/`hour`; failure, exhaustion, tuning: what recurs, what will run
    out, how well a playbook works.
    """

    kind: PatternKind
    trigger: str | None = None
    namespace: str | None = None
    service: str | None = None
    predicts: str | None = Field(default=None, description="the alert id expected next")
    probability: float = Field(default=0.0, ge=0.0, le=1.0)
    support: int = Field(default=0, ge=0, description="how many times the trigger (or bucket) was observed")
    lag_s: float | None = Field(default=None, ge=0)
    weekday: int | None = Field(default=None, ge=0, le=6, description="0 is Monday")
    hour: int | None = Field(default=None, ge=0, le=23)
    ratio: float | None = Field(default=None, ge=0)
    p_value: float | None = Field(default=None, ge=0.0, le=1.0)
    prevention: str = ""


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
    params: dict[str, ScalarParam] = Field(default_factory=dict, description="the parameters the method ran with")
    pattern: MemoryPattern | None = Field(default=None, description="set on insights of the sleep-time analysis")


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
    shared_from: str | None = Field(
        default=None, description="the other agent whose memory this is (its score weighted); None: Healer's own"
    )


class MemoryQuery(Message):
    """A question to memory-bridge (request/reply on `healer.memory.query`).

    With `alert_type` the answer carries a Recommendation; give `namespace` and `service` too, so that
    outcomes of the same incident (same alert, namespace and workload) weigh as such in its confidence.
    """

    text: str = Field(min_length=1, max_length=8_192)
    limit: int = Field(default=10, ge=1, le=200)
    type: MemoryType | None = None
    alert_type: str | None = Field(
        default=None, description="only memories of this alert id; asks for a recommendation"
    )
    namespace: str | None = None
    service: str | None = Field(
        default=None, description="the target's pod or workload name (pods of one workload count as one)"
    )
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
    context: str = Field(
        default="",
        max_length=4_000,
        description="a bounded summary for a person or an agent: the top memories and the last alerts, never "
        "the whole history (what a CodeRun's prompt carries)",
    )

    @property
    def successes(self) -> list[MemoryMatch]:
        return [m for m in self.matches if m.record.metadata.success is True]

    @property
    def failures(self) -> list[MemoryMatch]:
        return [m for m in self.matches if m.record.metadata.success is False]

    @property
    def patterns(self) -> list[MemoryMatch]:
        """Related patterns: insights of the sleep-time analysis among the matches."""
        return [m for m in self.matches if m.record.metadata.pattern is not None]


class MemoryAdd(Message):
    """Something to remember; `event_id` is its identity, so a redelivered add is stored once.

    Adding an insight (a memory with a `pattern`) that is already known is re-learning it: its content and
    pattern are refreshed and it is reinforced, rather than stored twice.
    """

    content: str = Field(min_length=1, max_length=200_000)
    type: MemoryType = "factual"
    metadata: MemoryMetadata = Field(default_factory=MemoryMetadata)
    tags: list[str] = Field(default_factory=list)
    salience: float | None = Field(default=None, ge=0.0, le=1.0, description="initial salience; 0.5 when unset")


class MemoryAdded(Message):
    memory_id: str
    deduplicated: bool = False
    error: str | None = None


class MemoryListRequest(Message):
    """`healer.memory.list`: the newest memories first."""

    limit: int = Field(default=20, ge=1, le=1_000)
    offset: int = Field(default=0, ge=0)
    type: MemoryType | None = None


class MemoryListing(Message):
    records: list[MemoryRecord] = Field(default_factory=list)
    backend: str = "embedded"
    error: str | None = None


class MemoryStatsRequest(Message):
    """`healer.memory.stats`: how much is remembered and how much of it is still alive."""


class MemoryStats(Message):
    backend: str = "embedded"
    total: int = Field(default=0, ge=0)
    by_type: dict[str, int] = Field(default_factory=dict)
    selectable: int = Field(default=0, ge=0, description="memories above the salience floor")
    reinforced: int = Field(default=0, ge=0, description="memories reinforced at least once")
    patterns: int = Field(default=0, ge=0, description="insights of the sleep-time analysis")
    average_salience: float = Field(default=0.0, ge=0.0, le=1.0, description="current (decayed) salience")
    error: str | None = None


class PredictionRequest(Message):
    """`healer.memory.predict`: what memory expects next, given the current conditions."""

    namespace: str | None = None
    service: str | None = None
    cluster: str | None = None


class Prediction(Frozen):
    """A remembered pattern that matches the current conditions (what H10 is raised from)."""

    predicts: str = Field(description="the alert id expected")
    namespace: str | None = None
    service: str | None = None
    cluster: str | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    expected_at: AwareDatetime | None = None
    reason: str = Field(description="which conditions matched which pattern")
    prevention: str = ""
    memory_id: str
    salience: float = Field(ge=0.0, le=1.0)


class PredictionAnswer(Message):
    predictions: list[Prediction] = Field(default_factory=list)
    backend: str = "embedded"
    error: str | None = None
