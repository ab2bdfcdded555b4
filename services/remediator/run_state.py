"""What a playbook run remembers between events (kept in Redis by runs.py, so any replica can pick it up), and
the work the engine asks the coordinator to do. Plain data: no I/O here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from healer_common.contract.alerts import SEVERITY_RANK
from healer_common.contract.audit import AuditValue
from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.remediations import Remediation
from services.remediator.playbooks import Playbook, PlaybookAction

Phase = Literal[
    "start", "acting", "awaiting_approval", "verifying", "handed_off", "retry_wait", "paused", "holding", "done"
]
Then = Literal["continue", "rolled_back", "hold"]


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(_State):
    """How bad the incident looks: an action that raises either number made things worse.

    `firing` counts distinct alert ids, not alerts: a restarted pod that fails again fires the same alert under
    its successor's name, which is not a new problem; a different alert (a crash loop after a rollback) is.
    """

    firing: int = 0
    worst: int = 0

    def worse_than(self, other: Health) -> bool:
        return self.firing > other.firing or self.worst > other.worst


def health_of(incident: Incident) -> Health:
    firing = incident.firing_alerts
    kinds = {a.alert_id for a in firing}
    return Health(firing=len(kinds), worst=max((SEVERITY_RANK[a.severity] for a in firing), default=0))


class PendingUndo(_State):
    """A change Healer made that it will reverse: at `due_at` (temporary), or if it fails or harms (None)."""

    index: int
    type: str
    data: dict[str, Any]
    due_at: dt.datetime | None = None


class Note(_State):
    """One decision, for the audit stream and the remediation record."""

    action: str
    decision: str
    reason: str
    time: dt.datetime
    details: dict[str, AuditValue] = Field(default_factory=dict)


class Fix(_State):
    """A verified fix of a target, remembered for a while: if the alert comes back, the fix did not hold."""

    playbook: str
    action: str  # the action's name in the playbook, e.g. restart
    remediation_id: str
    at: dt.datetime


class HandOff(_State):
    """The CodeRun a run handed its incident to, followed until it ends and its alert is judged."""

    namespace: str
    name: str
    since: dt.datetime


class RunState(_State):
    run: Remediation
    playbook: Playbook
    phase: Phase = "start"
    index: int = -1
    attempt: int = 0
    due_at: dt.datetime | None = None
    outcomes: dict[str, bool] = Field(default_factory=dict)
    resolved: bool = False
    health: Health = Health()
    health_before: Health | None = None
    undos: list[PendingUndo] = Field(default_factory=list)
    target: ResourceRef  # where actions aim now: a restarted pod's successor replaces it
    workload: ResourceRef | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    inhibited_by: list[str] = Field(default_factory=list)  # of the primary alert, as the latest revision says
    title: str = ""
    context: str = ""
    memory_context: str = ""  # what memory said, kept apart so an action can leave it out
    context_memory_ids: list[str] = Field(default_factory=list)  # the memories in it, reinforced if it helps
    handoff: HandOff | None = None
    handoff_timeout_s: float = 3600.0
    manual: bool = False
    approved_index: int | None = None
    postponed: bool = False
    verify_window_s: float = 300.0
    retry_paused_s: float = 30.0
    decisions: list[Note] = Field(default_factory=list)
    revisions: int = 0  # publications so far; the next one is revision + 1
    healing_tried: bool = False  # an action judged by the alert was tried: the verdict is about healing
    healed_by: str | None = None  # the action after which the alert resolved, once verified

    @property
    def action(self) -> PlaybookAction | None:
        actions = self.playbook.actions
        return actions[self.index] if 0 <= self.index < len(actions) else None

    @property
    def final(self) -> bool:
        return self.run.final


@dataclass(frozen=True)
class Act:
    """Plan the action, check the guards and limits, and carry it out (or describe it, in a dry run)."""

    action: PlaybookAction
    attempt: int


@dataclass(frozen=True)
class Ask:
    """Plan the action and ask a human to approve it."""

    action: PlaybookAction


@dataclass(frozen=True)
class Undo:
    """Reverse these changes, then go on as `then` says."""

    items: tuple[PendingUndo, ...]
    then: Then


Work = Act | Ask | Undo
