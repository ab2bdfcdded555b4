"""What the notifier renders once and hands to every channel (console, webhook, Slack, PagerDuty ...)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer_common.alerts import Severity
from healer_common.messages import Message

NotificationKind = Literal[
    "incident_opened",
    "incident_updated",
    "incident_resolved",
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
