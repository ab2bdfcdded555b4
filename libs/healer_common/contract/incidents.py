"""Incidents: the correlator's output, one per group of related alerts, on `healer.incidents.<state>`, and
acknowledgements of them on `healer.acks.<incident id>`.

An incident is republished whole on every change (`revision` grows), so a consumer that missed an update
still holds the full picture after the next one. `causes` is ranked, most likely first.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.alerts import AlertStatus, Severity
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import Frozen, Labels, Message

IncidentState = Literal["opened", "updated", "resolved"]
INCIDENT_STATES: tuple[IncidentState, ...] = ("opened", "updated", "resolved")


class AlertSummary(Frozen):
    """An alert as an incident holds it: identity and state, not the whole evidence."""

    fingerprint: str
    alert_id: str
    status: AlertStatus
    severity: Severity
    resource: ResourceRef | None = None
    labels: Labels = Field(default_factory=dict)
    summary: str = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    silenced_by: list[str] = Field(
        default_factory=list, description="ids of the silences that mute this alert (recorded, never notified)"
    )
    inhibited_by: list[str] = Field(
        default_factory=list,
        description="'<rule>: <fingerprint>' of each firing alert that mutes this one through an inhibition rule",
    )

    @property
    def muted(self) -> bool:
        return bool(self.silenced_by or self.inhibited_by)


class CauseCandidate(Frozen):
    """One ranked explanation (the seed's AlertCorrelation: primary, strength, common causes, actions)."""

    kind: Literal["topology", "change", "co-occurrence", "time-order", "alert", "memory"]
    description: str
    score: float = Field(ge=0.0, le=1.0)
    resource: ResourceRef | None = None
    evidence: list[str] = Field(default_factory=list)
    suggested_actions: list[str] = Field(default_factory=list)


class EnvironmentDifference(Frozen):
    """How the same app stands in another watched environment (cluster), e.g. prod against staging."""

    app: str = Field(description="the app both environments run, e.g. 'deployment cto/gateway'")
    environment: str = Field(description="the other environment's cluster")
    version_here: str | None = Field(None, description="last version deployed here, when a change said so")
    version_there: str | None = None
    firing_there: list[str] = Field(default_factory=list, description="alert ids firing there for the same app")
    summary: str


class TimelineEntry(Frozen):
    time: AwareDatetime
    kind: str
    text: str


class Incident(Message):
    """A group of alerts with its likely cause, timeline and severity."""

    incident_id: str = Field(min_length=1, max_length=64)
    state: IncidentState
    revision: int = Field(ge=1)
    title: str
    severity: Severity
    cluster: str
    namespace: str | None = None
    group_key: str
    group_labels: Labels = Field(default_factory=dict)
    alerts: list[AlertSummary] = Field(min_length=1)
    causes: list[CauseCandidate] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    opened_at: AwareDatetime
    resolved_at: AwareDatetime | None = None
    silenced: bool = Field(False, description="every firing alert is muted by a silence (see alerts[].silenced_by)")
    notify: bool = Field(
        True,
        description="the correlator's call (group_wait, group_interval, repeat_interval, silences, inhibition): "
        "whether this revision is worth telling people; consumers that act (the remediator) read every revision",
    )
    acknowledged_by: str | None = None
    environment_differences: list[EnvironmentDifference] = Field(
        default_factory=list, description="the same app in other watched environments, when it differs"
    )

    @property
    def alert_ids(self) -> list[str]:
        return sorted({a.alert_id for a in self.alerts})

    @property
    def firing_alerts(self) -> list[AlertSummary]:
        return [a for a in self.alerts if a.status == "firing"]

    @property
    def primary(self) -> AlertSummary:
        """The earliest alert: what the incident is named after."""
        return min(self.alerts, key=lambda a: a.starts_at)


class IncidentAck(Message):
    """Someone took an incident (`healer ack`, a PagerDuty acknowledgement, chat): escalation stops."""

    incident_id: str = Field(min_length=1, max_length=64)
    by: str = Field(min_length=1, max_length=128)
    source: str = Field("cli", description="where the acknowledgement came from: cli, pagerduty, slack, http")
    reason: str | None = None
