"""Microsoft Teams through a Workflows (Power Automate) incoming webhook: each notification is posted as one
Adaptive Card to the channel or chat the workflow posts to. Create the workflow in Teams with the template
"Post to a channel when a webhook request is received" and set its URL as `notifier.channels.teams.webhook_url`
(HEALER_NOTIFIER__CHANNELS__TEAMS__WEBHOOK_URL); the URL carries its own signature (`sig=`), so it is a secret.

    POST <workflow URL>
    {"type": "message",
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
                      "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                                  "type": "AdaptiveCard", "version": "1.4", "body": [...]}}]}

The workflow answers 202 Accepted; 400 for a body that does not fit its trigger's schema, 401/403/404 for a
URL that is wrong or revoked (given up), 429 with Retry-After when throttled and 5xx (tried again; see
http_answers.py). A Workflows webhook can neither thread nor edit a card, so every step is a card of its own.
Teams refuses a message over 28 KB: the text is cut to keep the card well under it.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, SecretStr

from healer_common.contract.notifications import Notification
from services.notifier.channels.http_answers import check, unreachable
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings
from services.notifier.render import plain_title

CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
TEXT_LIMIT = 8_000
FACT_LIMIT = 12
_COLOR = {"critical": "Attention", "warning": "Warning", "info": "Default"}
_STATE = {
    "incident_opened": "Opened",
    "incident_updated": "Updated",
    "incident_resolved": "Resolved",
    "incident_acknowledged": "Acknowledged",
    "remediation": "Remediation",
    "approval_request": "Approval needed",
    "escalation": "Escalated",
    "digest": "Digest",
}


def _facts(notification: Notification) -> list[dict[str, str]]:
    """Where and what, then the notification's own fields: the FactSet under the card's text."""
    facts = {"Severity": notification.severity, "Cluster": notification.cluster}
    if notification.target:
        facts["Target"] = notification.target
    facts |= {name.replace("_", " ").capitalize(): value for name, value in notification.fields.items() if value}
    return [{"title": title, "value": value[:200]} for title, value in list(facts.items())[:FACT_LIMIT]]


def card_for(notification: Notification) -> dict[str, Any]:
    """The message a Teams Workflows webhook takes: one Adaptive Card, colour by severity."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": f"{_STATE[notification.kind]}: {plain_title(notification.title)}",
            "style": "heading",
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOR[notification.severity],
            "wrap": True,
        },
        {"type": "TextBlock", "text": notification.text[:TEXT_LIMIT], "wrap": True},
        {"type": "FactSet", "facts": _facts(notification)},
    ]
    content: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION, "body": body}
    content["msteams"] = {"width": "Full"}  # the whole width of the chat, as alert cards are usually shown
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": content}],
    }


class TeamsChannel:
    name = "teams"

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self._url = url
        self._http = http

    def wants(self, notification: Notification) -> bool:  # noqa: ARG002 - a Teams channel hears every kind
        return True

    async def send(self, notification: Notification) -> None:
        try:
            response = await self._http.post(self._url, json=card_for(notification))
        except httpx.HTTPError as exc:
            raise unreachable("teams", exc) from None
        check(response, "teams")


class TeamsSettings(ChannelSettings):
    webhook_url: SecretStr | None = Field(
        None, description="Microsoft Teams Workflows webhook URL: one Adaptive Card per notification"
    )

    def ready(self) -> bool:
        return self.webhook_url is not None


def _build(settings: TeamsSettings, context: ChannelContext) -> TeamsChannel:
    assert settings.webhook_url is not None
    return TeamsChannel(settings.webhook_url.get_secret_value(), context.http)


CHANNEL = ChannelKind(TeamsSettings, needs="set HEALER_NOTIFIER__CHANNELS__TEAMS__WEBHOOK_URL", build=_build)
