"""What Healer remembers of a finished remediation: an episodic memory of what was done, where, with which
parameters, how long it took and whether it worked.

Only a run that acted has a verdict: a dry run, a run a guard skipped and one a person denied did nothing,
so they prove nothing about the method and are remembered without one (recommendation.py ignores them). A
rollback is a failure: the method made things worse. The remediation id is in the text so that two outcomes
are never merged by OpenMemory's near-duplicate detection.
"""

from __future__ import annotations

from healer_common.memory import MemoryAdd, MemoryMetadata
from healer_common.messages import stable_id
from healer_common.remediations import Remediation, ScalarParam

NO_VERDICT = frozenset({"skipped", "denied"})


def verdict(run: Remediation) -> bool | None:
    if run.dry_run or run.state in NO_VERDICT:
        return None
    return run.state == "succeeded"


def run_params(run: Remediation) -> dict[str, ScalarParam]:
    """The parameters the run's steps acted with (a later step's value wins)."""
    params: dict[str, ScalarParam] = {}
    for step in run.steps:
        params.update(step.params)
    return params


def outcome_memory(run: Remediation) -> MemoryAdd:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    actions = ", ".join(step.action for step in run.steps) or "no action"
    alerts = ", ".join(run.alert_ids)
    mode = " (dry run)" if run.dry_run else ""
    content = (
        f"{alerts} on {run.target} in cluster {run.cluster}: playbook {run.playbook} ({actions}) "
        f"{run.state}{mode}. {run.reason} [remediation {run.remediation_id}]"
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
            success=verdict(run),
            duration_s=took,
            method=run.playbook,
            incident_id=run.incident_id,
            remediation_id=run.remediation_id,
            params=run_params(run),
        ),
        tags=[f"alert:{a}" for a in run.alert_ids] + [f"playbook:{run.playbook}", f"outcome:{run.state}"],
        time=run.time,
    )
