"""Every subject on the bus, built here and nowhere else, and which model each subject family carries.

    {root}.events.<source>.<kind>       CloudEvents (events.Event); Alertmanager on events.alertmanager.<receiver>
    {root}.events.<source>.<kind>.<n>   the same, in partition n of the detector's input (partitions.py): what
                                        collectors publish, and what the detector's intake makes of the above
    {root}.changes.<cluster>            events.ChangeEvent, forwarded by the detector once validated (low volume,
                                        for the correlator and memory-bridge, which need changes, not the firehose)
    {root}.alerts.<ALERT_ID>            alerts.Alert
    {root}.incidents.<state>            incidents.Incident
    {root}.acks.<incident id>           incidents.IncidentAck
    {root}.remediations.<state>         remediations.Remediation
    {root}.approvals.<remediation id>   remediations.ApprovalDecision
    {root}.playbook_runs.<playbook>     remediations.PlaybookRunRequest (`healer playbooks run`)
    {root}.memory.query | .add          memory.MemoryQuery / MemoryAdd (core request/reply, not stored)
    {root}.memory.list | .stats         memory.MemoryListRequest / MemoryStatsRequest (request/reply)
    {root}.memory.predict               memory.PredictionRequest (request/reply): what memory expects next
    {root}.agents.report                agents.AgentsReport (core NATS, every remediator.agents.interval_s)
    {root}.audit.<service>              audit.AuditRecord
    {root}.dlq.<service>                health.DeadLetter
    {root}.rollups.<cluster>            rollups.RollupBatch: 5-minute summaries of every series (memory-bridge)

The root is `healer` unless configured (`HEALER_BUS__SUBJECT_ROOT`): two installations can share one NATS
account, and each test gets its own root on a shared server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, TypeAdapter

from healer_common.contract.agents import AgentsReport
from healer_common.contract.alerts import Alert
from healer_common.contract.audit import AuditRecord
from healer_common.contract.events import CHANGE_ADAPTER, EVENT_ADAPTER, AlertmanagerWebhook
from healer_common.contract.health import DeadLetter
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.memory import (
    MemoryAdd,
    MemoryListRequest,
    MemoryQuery,
    MemoryStatsRequest,
    PredictionRequest,
)
from healer_common.contract.messages import Message
from healer_common.contract.remediations import ApprovalDecision, PlaybookRunRequest, Remediation
from healer_common.contract.rollups import RollupBatch

_UNSAFE_TOKEN = re.compile(r"[^A-Za-z0-9_-]+")
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
ALERTMANAGER_SOURCE = "alertmanager"
CUSTOM_SOURCE = "custom"
MAX_TOKEN_CHARS = 128
"""No token built from input is longer: NATS closes the connection of a client whose protocol line exceeds
its max_control_line (4 KiB by default), and a subject is part of that line."""
_HASHED_KEEP = MAX_TOKEN_CHARS - 17


def subject_token(value: str) -> str:
    """Make any string one safe subject token (no dots, wildcards or spaces) of at most MAX_TOKEN_CHARS.

    A longer value keeps its beginning and ends in a hash of the whole, so the token stays stable and distinct.
    """
    token = _UNSAFE_TOKEN.sub("_", value).strip("_") or "_"
    if len(token) <= MAX_TOKEN_CHARS:
        return token
    digest = hashlib.sha256(value.encode(errors="surrogatepass")).hexdigest()[:16]
    return f"{token[:_HASHED_KEEP]}_{digest}"


@dataclass(frozen=True)
class SubjectSpace:
    """Subjects under one root; `SUBJECTS` is the default space."""

    root: str = "healer"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*", self.root):
            raise ValueError(f"subject root {self.root!r} must be dot-separated tokens of letters, digits, _ and -")

    # events
    def events(self, source: str, kind: str) -> str:
        return f"{self.root}.events.{subject_token(source)}.{subject_token(kind)}"

    def custom_events(self, source: str) -> str:
        return f"{self.root}.events.{CUSTOM_SOURCE}.{subject_token(source)}"

    def alertmanager(self, receiver: str) -> str:
        return f"{self.root}.events.{ALERTMANAGER_SOURCE}.{subject_token(receiver or 'default')}"

    @property
    def all_events(self) -> str:
        return f"{self.root}.events.>"

    @property
    def unpartitioned_events(self) -> str:
        """Events published without a partition (your systems, the CLI): the detector's intake reads these."""
        return f"{self.root}.events.*.*"

    def partition_events(self, partition: int) -> str:
        """Every event of one partition (the filter of the detector's consumer of that partition)."""
        return f"{self.root}.events.*.*.{partition}"

    def in_partition(self, subject: str, partition: int) -> str:
        """`subject` (an events subject without a partition) in partition `partition`."""
        return f"{self.root}.events.{'.'.join(self.tokens(subject)[1:3])}.{partition}"

    def without_partition(self, subject: str) -> str:
        """An events subject as its publisher named it: `healer.events.kubernetes.condition` for `....condition.3`."""
        return subject if self.partition_of(subject) is None else subject.rpartition(".")[0]

    def partition_of(self, subject: str) -> int | None:
        """The partition an events subject names, or None for one published without."""
        tokens = self.tokens(subject)
        return int(tokens[3]) if len(tokens) == 4 and tokens[0] == "events" and tokens[3].isdigit() else None

    @property
    def all_conditions(self) -> str:
        """Condition events of every source, each once: the partitioned copies (`healer.events.<source>.condition.
        <partition>`), which the collectors publish and the detector's intake makes of unpartitioned ones (the
        read API's CodeRun phases)."""
        return f"{self.root}.events.*.condition.*"

    def changes(self, cluster: str) -> str:
        return f"{self.root}.changes.{subject_token(cluster)}"

    @property
    def all_changes(self) -> str:
        return f"{self.root}.changes.*"

    # alerts
    def alerts(self, alert_id: str) -> str:
        return f"{self.root}.alerts.{subject_token(alert_id)}"

    @property
    def all_alerts(self) -> str:
        return f"{self.root}.alerts.*"

    # incidents, remediations, approvals
    def incidents(self, state: str) -> str:
        return f"{self.root}.incidents.{subject_token(state)}"

    @property
    def all_incidents(self) -> str:
        return f"{self.root}.incidents.*"

    def acks(self, incident_id: str) -> str:
        return f"{self.root}.acks.{subject_token(incident_id)}"

    @property
    def all_acks(self) -> str:
        return f"{self.root}.acks.*"

    def remediations(self, state: str) -> str:
        return f"{self.root}.remediations.{subject_token(state)}"

    @property
    def all_remediations(self) -> str:
        return f"{self.root}.remediations.*"

    def approvals(self, remediation_id: str) -> str:
        return f"{self.root}.approvals.{subject_token(remediation_id)}"

    @property
    def all_approvals(self) -> str:
        return f"{self.root}.approvals.*"

    def playbook_runs(self, playbook: str) -> str:
        return f"{self.root}.playbook_runs.{subject_token(playbook)}"

    @property
    def all_playbook_runs(self) -> str:
        return f"{self.root}.playbook_runs.*"

    # rollups (memory-bridge's downsampled history)
    def rollups(self, cluster: str) -> str:
        return f"{self.root}.rollups.{subject_token(cluster)}"

    @property
    def all_rollups(self) -> str:
        return f"{self.root}.rollups.>"

    @property
    def metric_events(self) -> str:
        """Batched metric samples from every source, each once: the partitioned copies
        (`<root>.events.<source>.metrics.<partition>`), which collectors publish and the detector's intake makes
        of unpartitioned ones."""
        return f"{self.root}.events.*.metrics.*"

    # memory (request/reply)
    @property
    def memory_query(self) -> str:
        return f"{self.root}.memory.query"

    @property
    def memory_add(self) -> str:
        return f"{self.root}.memory.add"

    @property
    def memory_list(self) -> str:
        return f"{self.root}.memory.list"

    @property
    def memory_stats(self) -> str:
        return f"{self.root}.memory.stats"

    @property
    def memory_predict(self) -> str:
        return f"{self.root}.memory.predict"

    # the agent platform
    @property
    def agents_report(self) -> str:
        return f"{self.root}.agents.report"

    # audit and dead letters
    def audit(self, service: str) -> str:
        return f"{self.root}.audit.{subject_token(service)}"

    @property
    def all_audit(self) -> str:
        return f"{self.root}.audit.*"

    def dlq(self, service: str) -> str:
        return f"{self.root}.dlq.{subject_token(service)}"

    @property
    def all_dlq(self) -> str:
        return f"{self.root}.dlq.>"

    # reading subjects back
    def tokens(self, subject: str) -> list[str]:
        """The tokens after the root, e.g. ['alerts', 'H8']; raises for a subject outside this space."""
        prefix = self.root + "."
        if not subject.startswith(prefix):
            raise ValueError(f"subject {subject!r} is not under root {self.root!r}")
        return subject[len(prefix) :].split(".")

    def family(self, subject: str) -> str:
        """`healer.alerts` for `healer.alerts.H8`: what spans and metrics are named by (never raw ids)."""
        try:
            return f"{self.root}.{self.tokens(subject)[0]}"
        except ValueError:
            return "foreign"

    def stream_prefix(self) -> str:
        return re.sub(r"[^A-Z0-9]+", "_", self.root.upper())


SUBJECTS = SubjectSpace()

_FAMILY_MODELS: dict[str, type[BaseModel]] = {
    "alerts": Alert,
    "incidents": Incident,
    "acks": IncidentAck,
    "remediations": Remediation,
    "approvals": ApprovalDecision,
    "playbook_runs": PlaybookRunRequest,
    "audit": AuditRecord,
    "dlq": DeadLetter,
    "agents": AgentsReport,
    "rollups": RollupBatch,
}
_MEMORY_MODELS: dict[str, type[BaseModel]] = {
    "query": MemoryQuery,
    "add": MemoryAdd,
    "list": MemoryListRequest,
    "stats": MemoryStatsRequest,
    "predict": PredictionRequest,
}


def model_for(space: SubjectSpace, subject: str) -> type[BaseModel] | TypeAdapter[Any]:
    """The model that validates a body published on `subject`."""
    tokens = space.tokens(subject)
    family = tokens[0]
    if family == "changes":
        return CHANGE_ADAPTER
    if family == "events":
        if len(tokens) > 1 and tokens[1] == ALERTMANAGER_SOURCE:
            return AlertmanagerWebhook
        return EVENT_ADAPTER
    if family == "memory" and len(tokens) > 1 and tokens[1] in _MEMORY_MODELS:
        return _MEMORY_MODELS[tokens[1]]
    if family in _FAMILY_MODELS:
        return _FAMILY_MODELS[family]
    raise ValueError(f"no model is defined for subject {subject!r}")


_SUBJECT_OF: dict[type[Message], Callable[[SubjectSpace, Any], str]] = {
    Alert: lambda space, m: space.alerts(m.alert_id),
    Incident: lambda space, m: space.incidents(m.state),
    IncidentAck: lambda space, m: space.acks(m.incident_id),
    Remediation: lambda space, m: space.remediations(m.state),
    ApprovalDecision: lambda space, m: space.approvals(m.remediation_id),
    PlaybookRunRequest: lambda space, m: space.playbook_runs(m.playbook),
    AuditRecord: lambda space, m: space.audit(m.service),
    AgentsReport: lambda space, _m: space.agents_report,
    DeadLetter: lambda space, m: space.dlq(m.service),
    RollupBatch: lambda space, m: space.rollups(m.cluster),
}


def subject_for(space: SubjectSpace, message: Message) -> str:
    """Where a Healer message is published; the subject is derived from the message, never hand-written."""
    build = _SUBJECT_OF.get(type(message))
    if build is None:
        raise TypeError(f"{type(message).__name__} has no subject of its own; publish it with an explicit subject")
    return build(space, message)
