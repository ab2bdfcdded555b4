"""What Healer remembers of a finished remediation: an episodic memory of what was done and whether it
worked. Dry runs are remembered without a verdict (nothing was done, so they prove nothing).
"""

from __future__ import annotations

from healer_common.memory import MemoryAdd, MemoryMetadata
from healer_common.messages import stable_id
from healer_common.remediations import Remediation


def outcome_memory(run: Remediation) -> MemoryAdd:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    verdict = None if run.dry_run else run.state == "succeeded"
    actions = ", ".join(step.action for step in run.steps) or "no action"
    alerts = ", ".join(run.alert_ids)
    mode = " (dry run)" if run.dry_run else ""
    content = (
        f"{alerts} on {run.target} in cluster {run.cluster}: playbook {run.playbook} ({actions}) "
        f"{run.state}{mode}. {run.reason}"
    )
    return MemoryAdd(
        event_id=stable_id("outcome", run.remediation_id, run.state),
        correlation_id=run.incident_id,
        content=content,
        type="episodic",
        metadata=MemoryMetadata(
            alert_type=run.alert_ids[0] if run.alert_ids else None,
            namespace=run.target.namespace if run.target else None,
            service=run.target.name if run.target else None,
            cluster=run.cluster,
            success=verdict,
            duration_s=took,
            method=run.playbook,
            incident_id=run.incident_id,
            remediation_id=run.remediation_id,
        ),
        tags=[f"alert:{a}" for a in run.alert_ids] + [f"playbook:{run.playbook}", f"outcome:{run.state}"],
        time=run.time,
    )
