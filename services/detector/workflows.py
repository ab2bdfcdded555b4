"""The workflow engine: after each fact about an agent workflow (a PR event, an agent pod starting or ending)
and when a rule's timer falls due, the A-series workflow rules say what should be firing now; what is new
fires, what no longer holds resolves. Desired state, not transitions: a redelivered or reordered event, or a
timer run twice, changes nothing twice (event ids derive from the fingerprint and the cause).

Pure: adapters/evaluation.py loads the workflow (adapters/workflow_store.py), folds the event in
(workflow_facts.py), calls `evaluate`, publishes the alerts and saves the workflow with its next due time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from healer_common.contract.alerts import Alert, Evidence, alert_fingerprint
from healer_common.settings.detector import RuleSettings
from services.detector.raising import firing_alert, resolved_alert
from services.detector.rules.model import Finding, WorkflowRule
from services.detector.workflow_facts import TaskWorkflow


@dataclass
class WorkflowStep:
    """What one evaluation decided: alerts to publish, the workflow to keep (None: forget it), its timer."""

    alerts: list[Alert] = field(default_factory=list)
    workflow: TaskWorkflow | None = None
    due: dt.datetime | None = None


def fingerprint_of(finding: Finding, cluster: str) -> str:
    return alert_fingerprint(finding.alert_id, cluster, None, {"workflow": finding.identity})


def _fire(finding: Finding, fingerprint: str, cluster: str, cause: str, now: dt.datetime) -> Alert:
    evidence = [Evidence(kind="event", summary=text[:2_048], time=now) for text in finding.evidence]
    return firing_alert(
        alert_id=finding.alert_id,
        severity=finding.severity,
        fingerprint=fingerprint,
        cluster=cluster,
        resource=finding.resource,
        labels=finding.labels,
        summary=finding.summary,
        description=finding.description,
        starts_at=min(finding.since, now),
        evidence=evidence,
        cause=cause,
        now=now,
    )


def evaluate(
    workflow: TaskWorkflow, rules: tuple[WorkflowRule, ...], cfg: RuleSettings, now: dt.datetime, cause: str
) -> WorkflowStep:
    """Fire what the rules find and is not firing yet; resolve what is firing and no longer found."""
    wanted = {fingerprint_of(f, workflow.cluster): f for rule in rules for f in rule.judge(workflow, cfg, now)}
    firing = dict(workflow.firing)
    alerts = []
    for fingerprint, finding in wanted.items():
        if fingerprint not in firing:
            firing[fingerprint] = _fire(finding, fingerprint, workflow.cluster, cause, now)
            alerts.append(firing[fingerprint])
    for fingerprint, alert in list(firing.items()):
        if fingerprint not in wanted:
            gone = Evidence(kind="event", summary=f"{alert.alert_id} no longer holds: {_why_not(workflow)}", time=now)
            alerts.append(resolved_alert(alert, ends_at=now, evidence=gone, cause=cause, now=now))
            del firing[fingerprint]
    kept = workflow.model_copy(update={"firing": firing})
    wakes = [t for rule in rules if (t := rule.wakes(kept, cfg, now)) is not None]
    return WorkflowStep(alerts, None if kept.finished else kept, min(wakes) if wakes else None)


def _why_not(workflow: TaskWorkflow) -> str:
    if not workflow.open_pulls and workflow.pulls:
        return "the pull request was closed"
    if not workflow.running_pods and workflow.pods:
        return "the agent pod is no longer running"
    return "the workflow moved on (a new comment, commit or check)"
