"""The incident told in a few lines, for the AI agent a CodeRun hands it to and for memory's question."""

from __future__ import annotations

from healer_common.contract.incidents import Incident
from healer_common.contract.memory import MemoryAnswer


def incident_story(incident: Incident, memory: MemoryAnswer | None) -> str:
    lines = [
        f"Incident {incident.incident_id}: {incident.title} (severity {incident.severity}, cluster {incident.cluster})."
    ]
    lines += [f"- {a.alert_id} {a.status} on {a.resource}: {a.summary}" for a in incident.alerts[:10]]
    if incident.causes:
        lines.append("Likely causes: " + "; ".join(f"{c.description} ({c.score:.2f})" for c in incident.causes[:3]))
    if memory is not None:
        for match in memory.matches[:5]:
            verdict = {True: "worked", False: "failed", None: "unknown"}[match.record.metadata.success]
            lines.append(f"Remembered ({verdict}): {match.record.content[:300]}")
        if memory.recommendation is not None:
            rec = memory.recommendation
            lines.append(f"Memory recommends {rec.method} (confidence {rec.confidence:.2f}): {rec.summary}")
    return "\n".join(lines)
