"""Slack through a legacy incoming webhook (`SLACK_WEBHOOK_URL`): one message per notification, no threads
and no in-place updates (an incoming webhook cannot do either; slack.py says so at start). Slack answers `ok`
with HTTP 200, and `invalid_payload`, `no_service` ... with a 4xx.
"""

from __future__ import annotations

import httpx

from healer_common.contract.notifications import Notification
from services.notifier.channels.http_answers import check, unreachable
from services.notifier.channels.slack_messages import reply_content


class SlackWebhookChannel:
    name = "slack"

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self._url = url
        self._http = http

    def wants(self, notification: Notification) -> bool:  # noqa: ARG002 - Slack hears every kind
        return True

    async def send(self, notification: Notification) -> None:
        text, blocks = reply_content(notification)
        try:
            response = await self._http.post(self._url, json={"text": text, "blocks": blocks})
        except httpx.HTTPError as exc:
            raise unreachable("slack webhook", exc) from None
        check(response, "slack webhook")
