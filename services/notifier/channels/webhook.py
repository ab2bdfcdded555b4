"""Generic webhook: the notification as JSON, signed with HMAC-SHA256 so the receiver can trust it.

Headers: `X-Healer-Timestamp` (unix seconds) and `X-Healer-Signature: sha256=<hex>` over
`<timestamp>.<body>` (the timestamp is signed so a captured request cannot be replayed later).

Sent with aiohttp, not httpx: in a storm the webhook carries a notification per incident and interval, and
httpx spent 1-2 ms of CPU per request (its connection pool grows slower with concurrency) where aiohttp spends
0.15 ms (bench/storm.py's profile).
"""

from __future__ import annotations

import time

import aiohttp
from pydantic import Field, SecretStr

from healer_common.contract.auth import request_signature
from healer_common.contract.codec import encode
from healer_common.contract.notifications import Notification
from services.notifier.channels.http_answers import judge, unreachable
from services.notifier.channels.kind import ChannelContext, ChannelKind, ChannelSettings


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The same signature Healer's own ingest checks (contract/auth.py): one scheme in both directions."""
    return request_signature(secret.encode(), timestamp, body)


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str | None, http: aiohttp.ClientSession, timeout_s: float = 10.0) -> None:
        self._url = url
        self._secret = secret
        self._http = http
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

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
            async with self._http.post(self._url, data=body, headers=headers, timeout=self._timeout) as response:
                text = await response.text(errors="replace") if response.status >= 400 else ""
                status, wait = response.status, response.headers.get("retry-after")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unreachable("webhook", exc) from None
        judge(status, wait, text, "webhook")


class WebhookSettings(ChannelSettings):
    url: str | None = Field(None, description="POST every notification as signed JSON to this URL")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for X-Healer-Signature")

    def ready(self) -> bool:
        return self.url is not None


def _build(settings: WebhookSettings, context: ChannelContext) -> WebhookChannel:
    assert settings.url is not None
    secret = settings.secret.get_secret_value() if settings.secret else None
    session = aiohttp.ClientSession()
    context.service.on_stop(session.close)
    return WebhookChannel(settings.url, secret, session, context.timeout_s)


CHANNEL = ChannelKind(WebhookSettings, needs="set HEALER_NOTIFIER__CHANNELS__WEBHOOK__URL", build=_build)
