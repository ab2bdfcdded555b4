"""Long-term memory as the rest of Healer sees it: remember, answer, reinforce, list, count and recall
patterns, the same way over either backend. memory-bridge's handlers and its idle-time analysis call this;
it imports no broker and takes its clock and settings from the caller.

Other agents' memories (`memory.shared`: Rex's, Cleo's, Tess's ...) are searched with every question and only
searched: nothing is ever added, reinforced or updated there. Their matches are selected as Healer's own
are, their scores multiplied by their source's weight, and marked with the agent they came from
(`MemoryMatch.shared_from`), in the answer and in its context. Recommendations rest on Healer's own outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from healer_common.clock import Clock
from healer_common.contract.memory import (
    MemoryAdd,
    MemoryAdded,
    MemoryAnswer,
    MemoryListing,
    MemoryListRequest,
    MemoryMatch,
    MemoryQuery,
    MemoryRecord,
    MemoryStats,
)
from healer_common.errors import HealerError
from healer_common.settings import MemorySettings
from services.memory_bridge.backend import MemoryBackend, MemoryFilter
from services.memory_bridge.context import summarise
from services.memory_bridge.decay import INITIAL_SALIENCE, current_salience, recalled, reinforced
from services.memory_bridge.occurrences import Occurrence
from services.memory_bridge.recommendation import IncidentKind, recommend
from services.memory_bridge.selection import select

CANDIDATES_PER_MATCH = 3
MIN_CANDIDATES = 30
OUTCOME_POOL = 100


@dataclass(frozen=True)
class SharedSource:
    """Another agent's memory, read only: whose it is, how much its memories weigh, and where it lives."""

    agent: str
    weight: float
    backend: MemoryBackend


class MemoryBridge:
    def __init__(
        self,
        backend: MemoryBackend,
        clock: Clock,
        settings: MemorySettings,
        shared: tuple[SharedSource, ...] = (),
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.settings = settings
        self.shared = shared

    async def remember(self, item: MemoryAdd) -> MemoryAdded:
        """Store what is new; re-learn an insight that is already known (refresh it and reinforce it)."""
        now = self.clock.now()
        if item.metadata.pattern is not None and (known := await self.backend.find_insight(item.event_id)):
            refreshed = reinforced(known, self.settings.reinforce_boost, now).model_copy(
                update={"content": item.content, "metadata": item.metadata, "tags": item.tags}
            )
            if item.salience is not None and refreshed.salience < item.salience:
                refreshed = refreshed.model_copy(update={"salience": item.salience})
            await self.backend.update(refreshed)
            return MemoryAdded(memory_id=known.memory_id, deduplicated=True, correlation_id=item.correlation_id)
        record = MemoryRecord(
            memory_id=item.event_id,
            type=item.type,
            content=item.content,
            metadata=item.metadata,
            tags=item.tags,
            salience=INITIAL_SALIENCE if item.salience is None else item.salience,
            created_at=item.time,
            last_accessed_at=now,
        )
        memory_id, deduplicated = await self.backend.add(record, item.event_id)
        return MemoryAdded(memory_id=memory_id, deduplicated=deduplicated, correlation_id=item.correlation_id)

    async def answer(self, question: MemoryQuery, recent: list[Occurrence]) -> MemoryAnswer:
        """Matches by selection score, a recommendation when the question names an alert type, and a context."""
        now = self.clock.now()
        where = MemoryFilter(
            now,
            type=question.type,
            alert_type=question.alert_type,
            cluster=question.cluster,
            min_salience=self.settings.salience_floor,
        )
        pool = max(MIN_CANDIDATES, question.limit * CANDIDATES_PER_MATCH)
        kind = IncidentKind.of(question)
        recommendation = None
        if kind is None:
            candidates = await self.backend.search(question.text, pool, where)
        else:
            # The remediator's question: one search serves both the matches and the outcomes behind the
            # recommendation (both are of this alert type), unless the question asks for another memory type.
            wider = await self.backend.search(question.text, max(pool, OUTCOME_POOL), replace(where, type=None))
            candidates = [c for c in wider if question.type in (None, c.record.type)][:pool]
            outcomes = [c.record for c in wider if c.record.type == "episodic"]
            recommendation = recommend(kind, outcomes, now, self.settings.repeat_weight)
        matches = select(question, candidates, now, self.settings.min_relevance)
        if self.shared:
            matches = await self._with_shared(question, matches, replace(where, alert_type=None, cluster=None), pool)
        if self.settings.reinforce_on_query:
            for match in matches:
                if match.shared_from is None:  # another agent's memory is never written
                    await self.backend.update(recalled(match.record, now))
        return MemoryAnswer(
            matches=matches,
            recommendation=recommendation,
            backend=self.backend.name,
            context=summarise(matches, recommendation, recent, now),
            correlation_id=question.correlation_id,
        )

    async def _with_shared(
        self, question: MemoryQuery, own: list[MemoryMatch], where: MemoryFilter, pool: int
    ) -> list[MemoryMatch]:
        """Healer's matches and the other agents', by weighted score; a source that cannot answer is left out."""
        found = list(own)
        for source in self.shared:
            try:
                candidates = await source.backend.search(question.text, pool, where)
            except HealerError:
                continue
            chosen = select(question, candidates, where.now, self.settings.min_relevance)
            found.extend(
                m.model_copy(update={"score": m.score * source.weight, "shared_from": source.agent}) for m in chosen
            )
        found.sort(key=lambda m: m.score, reverse=True)
        return found[: question.limit]

    async def reinforce(self, memory_ids: list[str]) -> list[MemoryRecord]:
        """Reinforce the memories that helped; unknown ids (forgotten since) are skipped."""
        now = self.clock.now()
        done = []
        for memory_id in dict.fromkeys(memory_ids):
            record = await self.backend.get(memory_id)
            if record is not None:
                stronger = reinforced(record, self.settings.reinforce_boost, now)
                await self.backend.reinforce(stronger, self.settings.reinforce_boost)
                done.append(stronger)
        return done

    async def listing(self, request: MemoryListRequest) -> MemoryListing:
        records = await self.backend.newest(request.limit, request.offset, request.type)
        return MemoryListing(records=records, backend=self.backend.name, correlation_id=request.correlation_id)

    async def stats(self) -> MemoryStats:
        return await self.backend.census(self.clock.now(), self.settings.salience_floor)

    async def patterns(self, min_salience: float) -> list[tuple[MemoryRecord, float]]:
        """Insights whose current salience is above `min_salience`, with that salience."""
        now = self.clock.now()
        found = [(record, current_salience(record, now)) for record in await self.backend.insights()]
        return [(record, salience) for record, salience in found if salience > min_salience]
