"""The read API's routes as data: method, path, what each takes and answers. handlers.py binds a function to
each by name, and openapi.py writes the OpenAPI document from the same table and the same pydantic models,
so the document cannot describe a route that is not served, or a shape that is not answered.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from healer_common.contract.alerts import Alert
from healer_common.contract.auth import ANY_APPROVAL
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import MemoryStats, PredictionAnswer
from healer_common.contract.remediations import Remediation
from healer_common.contract.silences import Silence
from healer_common.contract.views import (
    Accepted,
    AckRequest,
    ApprovalAnswer,
    ApprovalCard,
    CodeRunView,
    DashboardView,
    IncidentDetail,
    Page,
    RemediationDetail,
    SilenceRequest,
    StatusReport,
)
from services.api.queries import ALERT_PARAMS, INCIDENT_PARAMS, REMEDIATION_PARAMS, Param

PREFIX = "/api/v1"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    name: str
    summary: str
    answer: type[BaseModel] | None = None
    many: bool = False  # the answer is a JSON array of `answer`
    body: type[BaseModel] | None = None
    params: tuple[Param, ...] = ()
    scope: str | None = None  # a write route: what the caller's credential must grant (runtime/auth.py)
    stream: bool = False  # text/event-stream

    @property
    def path_params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


ROUTES: tuple[Route, ...] = (
    Route("GET", f"{PREFIX}/status", "status", "services, NATS, Redis, clusters and open incidents", StatusReport),
    Route("GET", f"{PREFIX}/dashboard", "dashboard", "the dashboard: health, tiles, alerts, runs", DashboardView),
    Route(
        "GET",
        f"{PREFIX}/dashboard/stream",
        "dashboard_stream",
        "server-sent events: `dashboard` with the whole DashboardView at once and on every change",
        DashboardView,
        stream=True,
    ),
    Route(
        "GET",
        f"{PREFIX}/events",
        "events",
        "server-sent events: `alert`, `incident`, `remediation`, `ack`, `approval` as published on the bus",
        stream=True,
    ),
    Route("GET", f"{PREFIX}/alerts", "alerts", "alerts as published, newest first", Page[Alert], params=ALERT_PARAMS),
    Route(
        "GET",
        f"{PREFIX}/incidents",
        "incidents",
        "open incidents (Redis) or resolved ones (the stream), newest first",
        Page[Incident],
        params=INCIDENT_PARAMS,
    ),
    Route(
        "GET",
        f"{PREFIX}/incidents/{{incident_id}}",
        "incident",
        "one incident with its causes, timeline, remediations and audit trail",
        IncidentDetail,
    ),
    Route(
        "POST",
        f"{PREFIX}/incidents/{{incident_id}}/ack",
        "ack",
        "acknowledge an incident: its escalation stops",
        Accepted,
        body=AckRequest,
        scope="ack",
    ),
    Route(
        "GET",
        f"{PREFIX}/remediations",
        "remediations",
        "remediation runs, newest revision first",
        Page[Remediation],
        params=REMEDIATION_PARAMS,
    ),
    Route(
        "GET",
        f"{PREFIX}/remediations/{{remediation_id}}",
        "remediation",
        "one run with its steps, every revision and its audit trail",
        RemediationDetail,
    ),
    Route("GET", f"{PREFIX}/approvals", "approvals", "runs waiting for a person's answer", ApprovalCard, many=True),
    Route(
        "POST",
        f"{PREFIX}/approvals/{{remediation_id}}",
        "answer",
        "approve or deny a run that waits",
        Accepted,
        body=ApprovalAnswer,
        scope=ANY_APPROVAL,  # the remediator checks the run's level against the credential that signed
    ),
    Route(
        "GET",
        f"{PREFIX}/silences",
        "silences",
        "silences in force and pending (and ended ones, a week)",
        Silence,
        many=True,
    ),
    Route(
        "POST",
        f"{PREFIX}/silences",
        "silence",
        "mute matching alerts for a while",
        Silence,
        body=SilenceRequest,
        scope="ack",  # silencing is taking responsibility, as acknowledging is
    ),
    Route(
        "DELETE",
        f"{PREFIX}/silences/{{silence_id}}",
        "expire",
        "end a silence now",
        Silence,
        scope="ack",
    ),
    Route(
        "GET",
        f"{PREFIX}/coderuns",
        "coderuns",
        "CodeRuns Pending or Running, as the bus last said",
        CodeRunView,
        many=True,
    ),
    Route("GET", f"{PREFIX}/memory/stats", "memory_stats", "what memory holds (memory-bridge's answer)", MemoryStats),
    Route("GET", f"{PREFIX}/predictions", "predictions", "what memory expects next (memory-bridge)", PredictionAnswer),
)
