"""PagerDuty through the Events API v2 (`POST /v2/enqueue`): an incident triggers, is acknowledged and
resolves under one `dedup_key`, the incident id, so PagerDuty keeps one alert per Healer incident.
Escalation levels that name PagerDuty trigger it. Remediation steps are not PagerDuty's business.

PagerDuty answers 202 `{"status": "success", "dedup_key": ...}`, 400 for an invalid event, 429 when rate
limited (samples/pagerduty_*.json).
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import BaseModel, Field, SecretStr

from healer_common.contract.notifications import Notification
from services.notifier.channels.http_answers import check, unreachable
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings
from services.notifier.render import plain_title

EventAction = Literal["trigger", "acknowledge", "resolve"]
_ACTION: dict[str, EventAction] = {
    "incident_opened": "trigger",
    "incident_updated": "trigger",
    "escalation": "trigger",
    "incident_acknowledged": "acknowledge",
    "incident_resolved": "resolve",
}
Severity = Literal["critical", "error", "warning", "info"]
_SEVERITY: dict[str, Severity] = {"critical": "critical", "warning": "warning", "info": "info"}


class EventPayload(BaseModel):
    summary: str = Field(max_length=1024)
    source: str
    severity: Severity
    timestamp: str | None = None
    component: str | None = None
    group: str | None = None
    custom_details: dict[str, str] = Field(default_factory=dict)


class PagerDutyEvent(BaseModel):
    """The Events API v2 body; `payload` is required only on trigger."""

    routing_key: str
    event_action: EventAction
    dedup_key: str
    payload: EventPayload | None = None
    client: str = "Healer"


def event_for(notification: Notification, routing_key: str) -> PagerDutyEvent:
    action = _ACTION[notification.kind]
    payload = None
    if action == "trigger":
        payload = EventPayload(
            summary=plain_title(notification.title)[:1024],
            source=notification.target or f"cluster {notification.cluster}",
            severity=_SEVERITY[notification.severity],
            timestamp=notification.time.isoformat(),
            component=notification.target,
            group=notification.namespace,
            custom_details={**notification.fields, "text": notification.text},
        )
    return PagerDutyEvent(
        routing_key=routing_key, event_action=action, dedup_key=notification.incident_id or "", payload=payload
    )


class PagerDutyChannel:
    name = "pagerduty"

    def __init__(self, url: str, routing_key: str, http: httpx.AsyncClient) -> None:
        self._url = url
        self._routing_key = routing_key
        self._http = http

    def wants(self, notification: Notification) -> bool:
        """Incident life only; an acknowledgement that came from PagerDuty is not sent back to it."""
        if notification.incident_id is None or notification.kind not in _ACTION:
            return False
        return notification.fields.get("ack_source") != "pagerduty"

    async def send(self, notification: Notification) -> None:
        event = event_for(notification, self._routing_key)
        try:
            response = await self._http.post(
                self._url,
                content=event.model_dump_json(exclude_none=True),
                headers={"content-type": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise unreachable("pagerduty", exc) from None
        check(response, "pagerduty")


class PagerDutySettings(ChannelSettings):
    routing_key: SecretStr | None = Field(None, description="PagerDuty Events API v2 routing key")
    events_url: str = Field("https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint")
    webhook_secret: SecretStr | None = Field(
        None,
        description="secret of the PagerDuty v3 webhook subscription whose acknowledgements arrive on the "
        "notifier's POST /pagerduty/webhook; the endpoint refuses everything while unset",
    )

    def ready(self) -> bool:
        return self.routing_key is not None


def _build(settings: PagerDutySettings, context: ChannelContext) -> PagerDutyChannel:
    assert settings.routing_key is not None
    return PagerDutyChannel(settings.events_url, settings.routing_key.get_secret_value(), context.http)


CHANNEL = ChannelKind(PagerDutySettings, needs="set PAGERDUTY_ROUTING_KEY", build=_build)
