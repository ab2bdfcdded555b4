"""The incident told in a few lines, for the AI agent a CodeRun hands it to and for memory's question; and what
memory said about it, told apart, so that an action can leave memory out (`useMemory: false`)."""

from __future__ import annotations

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import MemoryAnswer, MemoryQuery
from services.remediator.playbooks import Playbook

CONTEXT_MEMORIES = 5


def incident_story(incident: Incident) -> str:
    lines = [
        f"Incident {incident.incident_id}: {incident.title} (severity {incident.severity}, cluster {incident.cluster})."
    ]
    lines += [f"- {a.alert_id} {a.status} on {a.resource}: {a.summary}" for a in incident.alerts[:10]]
    if incident.causes:
        lines.append("Likely causes: " + "; ".join(f"{c.description} ({c.score:.2f})" for c in incident.causes[:3]))
    return "\n".join(lines)


def memory_story(memory: MemoryAnswer | None) -> str:
    """What memory remembers of such incidents (each marked with its verdict), and what it recommends."""
    if memory is None:
        return ""
    lines = []
    for match in memory.matches[:CONTEXT_MEMORIES]:
        verdict = {True: "worked", False: "failed", None: "unknown"}[match.record.metadata.success]
        whose = f" in {match.shared_from}'s memory" if match.shared_from else ""
        lines.append(f"Remembered{whose} ({verdict}): {match.record.content[:300]}")
    if memory.recommendation is not None:
        rec = memory.recommendation
        lines.append(f"Memory recommends {rec.method} (confidence {rec.confidence:.2f}): {rec.summary}")
    return "\n".join(lines)


def memory_ids_told(memory: MemoryAnswer | None) -> list[str]:
    """Healer's own memories `memory_story` tells: those reinforced when the run they informed succeeds (another
    agent's are read, never written)."""
    if memory is None:
        return []
    return [m.record.memory_id for m in memory.matches[:CONTEXT_MEMORIES] if m.shared_from is None]


def memory_note(memory: MemoryAnswer | None) -> str:
    """Where what memory said came from, for the run's reason (and so its notifications), when another agent's
    memory took part."""
    if memory is None:
        return ""
    told = memory.matches[:CONTEXT_MEMORIES]
    shared = sorted({m.shared_from for m in told if m.shared_from})
    if not shared:
        return ""
    own = sum(1 for m in told if m.shared_from is None)
    return f" (memory: {own} of Healer's own, {len(told) - own} from {', '.join(shared)}'s memory)"


def memory_question(
    alert: str | None, target: ResourceRef | None, playbook: Playbook, cluster: str, title: str = ""
) -> MemoryQuery:
    """What memory is asked before a run: the alert, the target and the playbook, in words and as filters."""
    return MemoryQuery(
        text=" ".join(str(p) for p in (alert, target, playbook.name, title) if p),
        alert_type=alert,
        namespace=target.namespace if target else None,
        service=target.name if target else None,  # memory counts a workload's pods as one
        cluster=cluster,
    )
