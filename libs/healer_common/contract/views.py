"""What the read API answers and what its write routes accept: the shapes of `GET /api/v1/...`, of the dashboard
(the web page and `healer dashboard` render the same `DashboardView`), and of the answers a person sends.

They are defined here, beside the messages they quote, so that the API (services/api), the terminal dashboard
(healer_cli) and the OpenAPI document are built from one set of models. Bus messages (Alert, Incident,
Remediation, AuditRecord, Silence, ...) are served as they are; these models only wrap and summarise them.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, Field

from healer_common.contract.agents import AgentsReport
from healer_common.contract.alerts import AlertStatus, Severity
from healer_common.contract.audit import AuditRecord
from healer_common.contract.events import ResourceRef
from healer_common.contract.health import ClusterHealth, Heartbeat
from healer_common.contract.incidents import CauseCandidate, Incident
from healer_common.contract.matchers import MatcherField
from healer_common.contract.messages import Frozen
from healer_common.contract.remediations import Remediation

T = TypeVar("T")


# status (`healer status` and GET /api/v1/status) ---------------------------------------------------------------
class Check(BaseModel):
    ok: bool
    url: str
    error: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ServiceStatus(BaseModel):
    service: str
    up: bool
    instances: list[Heartbeat]


class StatusReport(BaseModel):
    """Is every service up, are NATS and Redis healthy, how does each cluster look, what is open."""

    ok: bool
    time: AwareDatetime
    nats: Check
    redis: Check
    services: list[ServiceStatus]
    clusters: list[ClusterHealth] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    agents: AgentsReport | None = Field(None, description="the agent platform, as the remediator last reported it")


# lists ---------------------------------------------------------------------------------------------------------
class Page(BaseModel, Generic[T]):
    """One page of a list, newest first. Pass `next` back as `cursor` for the page after; null: no more."""

    items: list[T]
    next: int | None = Field(None, description="cursor of the next (older) page: a stream sequence")


class IncidentDetail(BaseModel):
    """An incident with everything Healer did about it: its remediation runs (latest revision each, with their
    steps) and the audit trail of every decision taken about it."""

    incident: Incident
    remediations: list[Remediation] = Field(default_factory=list)
    audit: list[AuditRecord] = Field(default_factory=list)


class RemediationDetail(BaseModel):
    remediation: Remediation
    revisions: list[Remediation] = Field(default_factory=list, description="every publication, oldest first")
    audit: list[AuditRecord] = Field(default_factory=list)


# the dashboard -------------------------------------------------------------------------------------------------
TileState = Literal["ok", "warning", "critical", "unknown"]
HealthState = Literal["healthy", "degraded", "down"]
ActionState = Literal["auto-remediated", "remediating", "pending", "resolved", "silenced", "watching"]


class Tile(Frozen):
    """One of the four tiles (Workflows, Agents, Infra, GitOps): a count, a state, and the words behind it."""

    key: Literal["workflows", "agents", "infra", "gitops"]
    title: str
    state: TileState
    count: int = Field(ge=0, description="what the tile counts (see `counts`)")
    counts: str = Field(description="what `count` is, e.g. 'CodeRuns active'")
    summary: str
    detail: list[str] = Field(default_factory=list)


class Health(Frozen):
    state: HealthState
    summary: str
    services_up: int
    services_total: int
    nats: bool
    redis: bool
    services: list[ServiceStatus] = Field(default_factory=list)
    clusters: list[ClusterHealth] = Field(default_factory=list)


class AlertRow(Frozen):
    """A recent alert and what Healer did about it ('auto-remediated: pod restarted', 'pending: requires
    attention')."""

    fingerprint: str
    alert_id: str
    name: str
    status: AlertStatus
    severity: Severity
    cluster: str
    target: str
    summary: str
    time: AwareDatetime
    incident_id: str | None = None
    remediation_id: str | None = None
    action_state: ActionState
    action: str = Field(description="what Healer did, in words, e.g. 'auto-remediated: pod restarted'")


class CodeRunView(Frozen):
    """An agent's run (agents.platform/v1 CodeRun) as the bus last reported it.

    `stage` and `progress` place the run in its play workflow (implementation, quality, testing, security,
    integration); the agent platform's own progress report can fill `progress` when it has one.
    """

    name: str
    namespace: str
    cluster: str
    phase: Literal["Pending", "Running", "Succeeded", "Failed"]
    agent: str | None = None
    stage: str | None = None
    progress: float | None = Field(None, ge=0.0, le=1.0)
    task_id: str | None = None
    service: str | None = None
    run_type: str | None = None
    since: AwareDatetime | None = None
    message: str | None = None


class RemediationBrief(Frozen):
    remediation_id: str
    playbook: str
    state: str
    dry_run: bool
    last_step: str | None = Field(None, description="the last step's action and outcome, e.g. 'restart_pod ok'")
    reason: str = ""


class IncidentCard(Frozen):
    incident_id: str
    title: str
    severity: Severity
    cluster: str
    namespace: str | None = None
    opened_at: AwareDatetime
    revision: int
    alerts_firing: int
    alert_ids: list[str]
    cause: CauseCandidate | None = Field(None, description="the most likely cause (the ranking's first)")
    acknowledged_by: str | None = None
    silenced: bool = False
    remediation: RemediationBrief | None = None


class ApprovalCard(Frozen):
    remediation_id: str
    incident_id: str
    playbook: str
    cluster: str
    action: str
    summary: str
    target: ResourceRef | None = None
    api_calls: list[str] = Field(default_factory=list)
    expires_at: AwareDatetime
    on_timeout: Literal["approve", "deny"]


class DashboardView(BaseModel):
    """The seed's dashboard: overall health, four tiles, recent alerts with what Healer did, active CodeRuns,
    open incidents with their ranked cause, and approvals waiting."""

    time: AwareDatetime
    health: Health
    tiles: list[Tile]
    alerts: list[AlertRow]
    coderuns: list[CodeRunView]
    incidents: list[IncidentCard]
    approvals: list[ApprovalCard]


# what people send ----------------------------------------------------------------------------------------------
class ApprovalAnswer(Frozen):
    """POST /api/v1/approvals/{remediation_id}."""

    decision: Literal["approve", "deny"]
    by: str | None = Field(None, max_length=128, description="ignored: who answers is the caller's credential")
    reason: str | None = Field(None, max_length=1_024)


class AckRequest(Frozen):
    """POST /api/v1/incidents/{incident_id}/ack."""

    by: str | None = Field(None, max_length=128, description="ignored: who acknowledges is the caller's credential")
    reason: str | None = Field(None, max_length=1_024)


class SilenceRequest(Frozen):
    """POST /api/v1/silences: mute alerts matching every matcher for `duration_s` seconds from now."""

    matchers: list[MatcherField] = Field(default_factory=list, description="none: every alert (maintenance)")
    duration_s: float = Field(gt=0, le=90 * 86_400)
    reason: str = Field(min_length=1, max_length=1_024)
    author: str | None = Field(None, max_length=128, description="ignored: the author is the caller's credential")
    hold_remediation: bool = Field(True, description="also hold remediation of what it matches; false: mute only")


class Accepted(Frozen):
    """A write route's answer: what was published (or stored), where."""

    accepted: str
    id: str
    subject: str | None = None
