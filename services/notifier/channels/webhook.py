"""Generic webhook: the notification as JSON, signed with HMAC-SHA256 so the receiver can trust it.

Headers: `X-Healer-Timestamp` (unix seconds) and `X-Healer-Signature: sha256=<hex>` over
`<timestamp>.<body>` (the timestamp is signed so a captured request cannot be replayed later).
"""

from __future__ import annotations

import time

import httpx
from pydantic import Field, SecretStr

from healer_common.contract.auth import request_signature
from healer_common.contract.codec import encode
from healer_common.contract.notifications import Notification
from services.notifier.channels.http_answers import check, unreachable
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The same signature Healer's own ingest checks (contract/auth.py): one scheme in both directions."""
    return request_signature(secret.encode(), timestamp, body)


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str | None, http: httpx.AsyncClient) -> None:
        self._url = url
        self._secret = secret
        self._http = http

    def wants(self, notification: Notification) -> bool:  # noqa: ARG002 - a webhook receiver gets everything
        return True

    async def send(self, notification: Notification) -> None:
        body = encode(notification)
        headers = {"content-type": "application/json", "user-agent": "healer-notifier"}
        if self._secret:
            stamp = str(int(time.time()))
            headers["x-healer-timestamp"] = stamp
            headers["x-healer-signature"] = signature(self._secret, stamp, body)
        try:
            response = await self._http.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise unreachable("webhook", exc) from None
        check(response, "webhook")


class WebhookSettings(ChannelSettings):
    url: str | None = Field(None, description="POST every notification as signed JSON to this URL")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Healer-Signature")

    def ready(self) -> bool:
        return self.url is not None


def _build(settings: WebhookSettings, context: ChannelContext) -> WebhookChannel:
    assert settings.url is not None
    secret = settings.secret.get_secret_value() if settings.secret else None
    return WebhookChannel(settings.url, secret, context.http)


CHANNEL = ChannelKind(WebhookSettings, needs="set HEALER_NOTIFIER__CHANNELS__WEBHOOK__URL", build=_build)
