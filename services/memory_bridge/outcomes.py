"""What Healer remembers of a finished remediation: an episodic memory of what was done, where, with which
parameters, how long it took and whether it worked.

The method of a verified fix is the action that healed it (`healed_by`, e.g. `scale`), so that memory's
recommendation names it and the remediator starts there next time instead of re-running the playbook from
its first action; the playbook stays in the text and the tags. A run that did not succeed is a failure of
its playbook. Only a run that acted has a verdict: a dry run, a run a guard skipped and one a person denied
did nothing, so they prove nothing about the method and are remembered without one (recommendation.py
ignores them). A rollback is a failure: the method made things worse.

A fix that did not hold (the run `continues` an earlier verified fix whose alert came back) is remembered as
a failure of that earlier action, beside the earlier run's success: the restart fixed it once and did not
last, so restart weighs 1 for and 1 against, and the scale-up that held comes out ahead. The remediation id
is in each text so that two outcomes are never merged by OpenMemory's near-duplicate detection.

A run handed to an AI agent carries what came of it (`coderun`): its pull request is the memory's `pr_url`,
and the text says early (within the 300 characters a CodeRun's prompt quotes of each memory) which PR it was,
whether it merged and passed its checks, and whether the alert resolved.
"""

from __future__ import annotations

from healer_common.contract.memory import MemoryAdd, MemoryMetadata
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import Remediation, ScalarParam

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


def method_of(run: Remediation) -> str:
    """What the outcome is evidence about: the action that healed a verified fix, else the playbook."""
    return run.healed_by if run.state == "succeeded" and run.healed_by else run.playbook


def _where(run: Remediation) -> MemoryMetadata:
    return MemoryMetadata(
        alert_type=run.alert_ids[0] if run.alert_ids else None,
        namespace=run.target.namespace if run.target else None,
        service=run.target.name if run.target else None,
        cluster=run.cluster,
        incident_id=run.incident_id,
    )


def outcome_memory(run: Remediation) -> MemoryAdd:
    took = (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
    actions = ", ".join(step.action for step in run.steps) or "no action"
    alerts = ", ".join(run.alert_ids)
    mode = " (dry run)" if run.dry_run else ""
    method = method_of(run)
    healed = f", healed by {method}" if method != run.playbook else ""
    agent = f" {run.coderun.describe()}." if run.coderun is not None else ""
    content = (
        f"{alerts} on {run.target} in cluster {run.cluster}: playbook {run.playbook} ({actions}) "
        f"{run.state}{mode}{healed}.{agent} {run.reason} [remediation {run.remediation_id}]"
    )
    tags = [f"alert:{a}" for a in run.alert_ids] + [f"playbook:{run.playbook}", f"outcome:{run.state}"]
    return MemoryAdd(
        event_id=stable_id("outcome", run.remediation_id, run.state),
        correlation_id=run.incident_id,
        content=content,
        type="episodic",
        metadata=_where(run).model_copy(
            update={
                "success": verdict(run),
                "duration_s": took,
                "method": method,
                "remediation_id": run.remediation_id,
                "params": run_params(run),
                "pr_url": run.coderun.pr_url if run.coderun is not None else None,
            }
        ),
        tags=tags + ([f"action:{method}"] if healed else []) + (["coderun"] if run.coderun is not None else []),
        time=run.time,
    )


def not_held_memory(run: Remediation) -> MemoryAdd | None:
    """The failure of an earlier fix that did not hold, learnt from the run that goes on after it."""
    earlier = run.continues
    if earlier is None or run.dry_run:
        return None
    alerts = ", ".join(run.alert_ids)
    content = (
        f"{alerts} on {run.target} in cluster {run.cluster}: {earlier.action} (playbook {earlier.playbook}, "
        f"remediation {earlier.remediation_id}) did not hold: the alert was back {earlier.back_after_s:.0f}s "
        f"after it was verified, and remediation {run.remediation_id} went on after it "
        f"[did not hold {earlier.remediation_id}]"
    )
    return MemoryAdd(
        event_id=stable_id("not-held", earlier.remediation_id, earlier.action),
        correlation_id=run.incident_id,
        content=content,
        type="episodic",
        metadata=_where(run).model_copy(
            update={"success": False, "method": earlier.action, "remediation_id": earlier.remediation_id}
        ),
        tags=[f"alert:{a}" for a in run.alert_ids]
        + [f"playbook:{earlier.playbook}", f"action:{earlier.action}", "outcome:did_not_hold"],
        time=run.time,
    )
