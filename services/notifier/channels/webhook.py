"""Generic webhook: the notification as JSON, signed with HMAC-SHA256 so the receiver can trust it.

Headers: `X-Healer-Timestamp` (unix seconds) and `X-Healer-Signature: sha256=<hex>` over
`<timestamp>.<body>` (the timestamp is signed so a captured request cannot be replayed later).
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import math
import time

import httpx

from healer_common.codec import encode
from healer_common.errors import Permanent, Retryable
from healer_common.notifications import Notification

DEFAULT_RETRY_S = 2.0


def retry_after(value: str | None) -> float:
    """Seconds to wait from a Retry-After header, delta-seconds or an HTTP-date (RFC 9110); a default if unusable."""
    if not value:
        return DEFAULT_RETRY_S
    try:
        delay = float(value)
    except ValueError:
        try:
            delay = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return DEFAULT_RETRY_S
    return max(0.0, delay) if math.isfinite(delay) else DEFAULT_RETRY_S


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str | None, http: httpx.AsyncClient) -> None:
        self._url = url
        self._secret = secret
        self._http = http

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
            raise Retryable(f"webhook unreachable: {type(exc).__name__}", delay=2.0) from None
        if response.status_code == 429 or response.status_code >= 500:
            delay = retry_after(response.headers.get("retry-after"))
            raise Retryable(f"webhook answered HTTP {response.status_code}", delay=delay)
        if response.status_code >= 400:
            # A 4xx other than 429 will not get better by retrying: give up on this channel, say why.
            raise Permanent(f"webhook refused the notification: HTTP {response.status_code} {response.text[:200]}")
