"""Remediations and approvals: what the remediator plans and does, on `healer.remediations.<state>`.

State machine (each transition is published and audited):

    planned -> awaiting_approval -> approved | denied
    planned | approved -> running -> acted -> succeeded | failed -> rolled_back
    any -> skipped (a guard, a limit or the kill switch said no; the reason says which)

A run is republished whole on every change (`revision` grows, `event_id` is unique per revision), like an
incident: a run that restarts a pod and then scales its Deployment publishes `acted` twice, and a successful
run whose temporary scale-up is undone when its rollback window ends publishes `succeeded` again with the
scale-down as its last step. Consumers that de-duplicate key on (remediation_id, revision).

Steps whose action is `notify` carry a message for people in `detail`; a step whose action is `escalate`
asks the notifier to page the next level now.

What memory learns from a run rides on it: `healed_by`, the playbook action after which the alert resolved (a
verified fix), `continues`, the earlier verified fix of the same target that did not hold (its alert came
back within the recurrence window, so this run goes on after it), and `coderun`, what came of a hand-off to
an AI agent: the CodeRun followed to its end, the pull request it opened, merged or not, its checks, and
whether the alert resolved.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.auth import Attestation
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import Frozen, Message

RemediationState = Literal[
    "planned",
    "awaiting_approval",
    "approved",
    "denied",
    "running",
    "acted",
    "succeeded",
    "failed",
    "rolled_back",
    "skipped",
]
REMEDIATION_STATES: tuple[RemediationState, ...] = (
    "planned",
    "awaiting_approval",
    "approved",
    "denied",
    "running",
    "acted",
    "succeeded",
    "failed",
    "rolled_back",
    "skipped",
)
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "rolled_back", "skipped", "denied"})

ScalarParam = str | int | float | bool | None


class RemediationStep(Frozen):
    """One action taken (or that would have been taken, in a dry run)."""

    action: str
    params: dict[str, ScalarParam] = Field(default_factory=dict)
    outcome: Literal["ok", "failed", "dry_run", "skipped", "rolled_back"]
    detail: str = ""
    api_calls: list[str] = Field(default_factory=list, description="e.g. 'DELETE /api/v1/namespaces/cto/pods/rex-1'")
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None


class ApprovalRequest(Frozen):
    """What a run waiting for approval asks, and what happens when nobody answers."""

    action: str = Field(description="the action type that needs a human's yes, e.g. rollback_deployment")
    level: str = Field("oncall", description="who may answer: a credential with approve:<level> (or admin)")
    asked_at: AwareDatetime | None = Field(None, description="when it was asked; older answers are not for it")
    target: ResourceRef | None = None
    summary: str = Field(description="what would be done, e.g. 'roll deployment cto/gw back to revision 4'")
    api_calls: list[str] = Field(default_factory=list, description="the exact calls it would make")
    expires_at: AwareDatetime
    on_timeout: Literal["approve", "deny"]
    answer_with: list[str] = Field(
        default_factory=list, description="ways to answer, e.g. 'healer approve <id>', 'POST /approvals/<id>'"
    )


class FixNotHeld(Frozen):
    """An earlier run's verified fix of the same target whose alert came back: that action did not hold."""

    remediation_id: str = Field(description="the earlier run, whose fix was verified")
    playbook: str
    action: str = Field(description="the name of the action that fixed it for a while, e.g. restart")
    fixed_at: AwareDatetime = Field(description="when the earlier run verified it")
    back_after_s: float = Field(ge=0, description="how long after the fix the alert came back")


class CodeRunOutcome(Frozen):
    """A remediation CodeRun followed to its end: the agent's run, its pull request, and what came of it."""

    namespace: str
    name: str
    phase: Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    duration_s: float | None = Field(default=None, ge=0)
    message: str = ""
    pr_url: str | None = Field(default=None, description="the pull request the agent opened (status.pullRequestUrl)")
    merged: bool | None = Field(default=None, description="None when the PR could not be read")
    checks_passed: bool | None = Field(default=None, description="every completed check on its head passed")
    alert_resolved: bool | None = Field(default=None, description="the run's alert resolved (None: not known yet)")

    @property
    def finished(self) -> bool:
        return self.phase in {"Succeeded", "Failed", "Unknown"}

    @property
    def delivered(self) -> bool:
        """The agent did its part: it succeeded, and no check on its pull request failed."""
        return self.phase == "Succeeded" and self.checks_passed is not False

    def describe(self) -> str:
        took = f" in {self.duration_s:.0f}s" if self.duration_s is not None else ""
        pr = ""
        if self.pr_url:
            merged = {True: "merged", False: "not merged", None: "merge unknown"}[self.merged]
            checks = {True: "checks passed", False: "checks failed", None: "checks unknown"}[self.checks_passed]
            pr = f"; PR {self.pr_url} ({merged}, {checks})"
        resolved = {True: "; the alert resolved", False: "; the alert did not resolve", None: ""}[self.alert_resolved]
        return f"CodeRun {self.namespace}/{self.name} {self.phase}{took}{pr}{resolved}"


class Remediation(Message):
    """A playbook run against one incident's target."""

    remediation_id: str = Field(min_length=1, max_length=64)
    incident_id: str
    playbook: str
    state: RemediationState
    cluster: str
    target: ResourceRef | None = None
    alert_ids: list[str] = Field(default_factory=list)
    dry_run: bool = False
    steps: list[RemediationStep] = Field(default_factory=list)
    reason: str = ""
    requires_approval: bool = False
    approval: ApprovalRequest | None = Field(default=None, description="set while the run awaits approval")
    revision: int = Field(default=1, ge=1, description="grows with every publication of this run")
    memory_ids: list[str] = Field(default_factory=list, description="memories that informed this run")
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    healed_by: str | None = Field(
        default=None,
        description="set once verified (never in a dry run): the name of the playbook action after which the "
        "alert resolved, e.g. scale (an action's name is its type's verb unless the playbook names it)",
    )
    continues: FixNotHeld | None = Field(
        default=None, description="the earlier fix of this target that did not hold, which this run goes on after"
    )
    coderun: CodeRunOutcome | None = Field(
        default=None, description="the CodeRun this run handed the incident to, followed to its end"
    )
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


class PlaybookRunRequest(Message):
    """Run a playbook by hand (`healer playbooks run NAME --target ...`), through the remediator's guards. Only an
    admin credential may ask for a run that changes the cluster (the attestation says whose); anyone with a
    credential may rehearse one (`dry_run`). `use_memory` asks memory first, so that what it remembers goes into
    the run's context (and a CodeRun's prompt)."""

    request_id: str = Field(min_length=1, max_length=64)
    playbook: str = Field(min_length=1, max_length=253)
    target: ResourceRef
    cluster: str = "default"
    dry_run: bool = False
    by: str = Field(min_length=1, max_length=128)
    reason: str | None = None
    use_memory: bool = True
    attestation: Attestation | None = Field(None, description="the asker's signature over statement()")

    def statement(self) -> str:
        """What the attestation signs: everything that decides what the run does."""
        target = f"{self.target.kind}/{self.target.namespace or ''}/{self.target.name}"
        parts = ("playbook-run", self.request_id, self.playbook, self.cluster, target, self.dry_run, self.use_memory)
        return "\n".join(str(p) for p in parts)


class ApprovalDecision(Message):
    """An answer to an approval request, from the CLI, the HTTP endpoint or chat. Who answered is the
    credential whose attestation it carries (contract/auth.py); `by` is only what the sender called itself."""

    remediation_id: str = Field(min_length=1, max_length=64)
    decision: Literal["approve", "deny"]
    by: str = Field(min_length=1, max_length=128)
    reason: str | None = None
    attestation: Attestation | None = Field(None, description="the approver's signature over statement()")

    def statement(self) -> str:
        """What the attestation signs: the run, the answer and its reason."""
        return f"approval\n{self.remediation_id}\n{self.decision}\n{self.reason or ''}"
