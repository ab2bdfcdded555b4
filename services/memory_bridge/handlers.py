"""memory-bridge's subscribers: outcomes in, answers out."""

from __future__ import annotations

from healer_common.bus import Service
from healer_common.memory import MemoryAdd, MemoryAdded, MemoryAnswer, MemoryQuery
from healer_common.remediations import Remediation
from healer_common.streams import MEMORY_REMEDIATIONS
from services.memory_bridge.outcomes import outcome_memory
from services.memory_bridge.simple_store import SimpleMemoryStore


def register(svc: Service, store: SimpleMemoryStore) -> None:
    @svc.consume(MEMORY_REMEDIATIONS)
    async def on_remediation(run: Remediation) -> None:
        if run.final:
            added = await store.add(outcome_memory(run))
            if not added.deduplicated:
                await svc.audit(
                    "remember_outcome",
                    "recorded",
                    target=str(run.target or ""),
                    reason=f"{run.playbook} {run.state}",
                    remediation_id=run.remediation_id,
                    incident_id=run.incident_id,
                    memory_id=added.memory_id,
                )

    @svc.reply(svc.space.memory_query)
    async def on_query(question: MemoryQuery) -> MemoryAnswer:
        return await store.query(question)

    @svc.reply(svc.space.memory_add)
    async def on_add(item: MemoryAdd) -> MemoryAdded:
        return await store.add(item)
