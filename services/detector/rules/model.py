"""The shapes a catalogue rule fills in: a rule module is a table of these, the engines run them.

Three kinds of rule read the signals vocabulary (healer_common/signals.py):

- `ConditionRule`: condition reasons on an object that must persist (`Hold.for_s`) or repeat
  (`Hold.repeats` within `Hold.window_s`) before the alert fires; run by held_conditions.py.
- `MetricRule`: a series beyond a threshold for a while, with a clear level below it (hysteresis); or, with
  `check="growing"`, a series that keeps rising over a window; run by thresholds.py, vectorised.
- `WorkflowRule`: what should fire now about one agent workflow (a task's PRs and agent pods, joined from
  the github and kubernetes sources: workflow_facts.py), and when time alone could change that; run by
  workflows.py, which fires what is new and resolves what no longer holds.

Numbers come from the rule's settings section (healer_common/settings/detector.py), resolved per cluster and
namespace before a rule sees them, so a rule module holds no number of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from healer_common.contract.alerts import Severity
from healer_common.contract.events import ConditionData, ResourceRef
from healer_common.settings.detector import RuleSettings
from services.detector.workflow_facts import TaskWorkflow


@dataclass(frozen=True)
class Hold:
    """How long (or how often) a condition must be seen before its alert fires, and how bad it is then."""

    for_s: float
    severity: Severity
    repeats: int = 0
    window_s: float = 0.0


Judge = Callable[[ConditionData, RuleSettings], Hold | None]
"""A rule's verdict on one trigger: how it must hold, or None when this object is exempt."""


@dataclass(frozen=True)
class ConditionRule:
    """Trigger reasons of one alert; the first reason names the alert (its fingerprint) for all of them."""

    alert_id: str
    reasons: tuple[str, ...]
    judge: Judge
    recoveries: tuple[str, ...] | None = None  # None: the vocabulary's recoveries and the configured ones
    dated_by_since: bool = False  # labels.since (RFC 3339) says when the condition began

    @property
    def identity(self) -> str:
        return self.reasons[0]


@dataclass(frozen=True)
class Limits:
    """A metric rule's numbers for one series: fire beyond `threshold`, clear back past `clear`."""

    threshold: float
    clear: float
    for_s: float
    resolve_for_s: float
    severity: Severity
    critical: float | None = None


@dataclass(frozen=True)
class MetricRule:
    alert_id: str
    metric: str
    limits: Callable[[RuleSettings], Limits]
    above: bool = True
    check: Literal["threshold", "growing"] = "threshold"
    what: str = ""  # a few words for the summary: "PVC usage", "queue depth"


@dataclass(frozen=True)
class Finding:
    """One alert a workflow rule sees holding now; `identity` (with the rule's id, the cluster and `pr`) makes
    its fingerprint, so the alert keeps it while its target pod changes."""

    alert_id: str
    identity: str
    resource: ResourceRef
    labels: dict[str, str]
    summary: str
    description: str
    since: dt.datetime
    severity: Severity = "warning"
    evidence: tuple[str, ...] = field(default_factory=tuple)


WorkflowJudge = Callable[[TaskWorkflow, RuleSettings, dt.datetime], list[Finding]]
WorkflowWake = Callable[[TaskWorkflow, RuleSettings, dt.datetime], dt.datetime | None]


def never(workflow: TaskWorkflow, cfg: RuleSettings, now: dt.datetime) -> dt.datetime | None:
    """A rule that only changes when its facts do: no timer."""
    del workflow, cfg, now
    return None


@dataclass(frozen=True)
class WorkflowRule:
    """A rule judged on a task's workflow (its PRs and agent pods, workflow_facts.py) rather than one signal:
    `reasons` are the pull-request facts it is fed, `kind` the kind of target its alerts name."""

    alert_id: str
    judge: WorkflowJudge
    reasons: tuple[str, ...]
    wakes: WorkflowWake = never  # the next time time alone could change the judge's answer
    kind: Literal["Pod", "PullRequest"] = "Pod"
