"""What the notifier renders once and hands to every channel (console, webhook, Slack, PagerDuty ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer_common.contract.alerts import Severity
from healer_common.contract.messages import Labels, Message

NotificationKind = Literal[
    "incident_opened",
    "incident_updated",
    "incident_resolved",
    "incident_acknowledged",
    "remediation",
    "approval_request",
    "escalation",
    "digest",
]


class Notification(Message):
    notification_id: str
    kind: NotificationKind
    incident_id: str | None = None
    remediation_id: str | None = None
    severity: Severity = "warning"
    cluster: str = ""
    namespace: str | None = None
    title: str
    text: str
    fields: dict[str, str] = Field(default_factory=dict)
    labels: Labels = Field(
        default_factory=dict,
        description="what routes match on: the incident's common alert labels plus alertname, alert_id, "
        "severity, cluster and namespace",
    )
    fingerprint: str | None = Field(None, description="the primary alert's fingerprint (GitHub finds its issue by it)")
    target: str | None = Field(None, description="what the incident is about, e.g. pod cto/rex-1")
