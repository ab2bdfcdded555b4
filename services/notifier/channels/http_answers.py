"""What an HTTP receiver's answer means for a delivery, the same for every HTTP channel (webhook, Slack's
incoming webhook, PagerDuty, GitHub): 2xx delivered; 429 and 5xx "try again later", no sooner than the
receiver's `Retry-After`; any other 4xx refused for good (retrying cannot help); no answer at all, later.

`Retryable.delay` carries the receiver's own wish (0 when it said nothing); dispatch.py adds the backoff.
"""

from __future__ import annotations

import email.utils
import math
import time

import httpx

from healer_common.errors import Permanent, Retryable


def retry_after(value: str | None, now: float | None = None) -> float:
    """Seconds from a Retry-After header, delta-seconds or an HTTP-date (RFC 9110); 0 when absent or unusable."""
    if not value:
        return 0.0
    try:
        delay = float(value)
    except ValueError:
        try:
            delay = email.utils.parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError):
            return 0.0
    return max(0.0, delay) if math.isfinite(delay) else 0.0


def check(response: httpx.Response, system: str) -> None:
    """Raise what the answer asks for; return quietly on success."""
    judge(response.status_code, response.headers.get("retry-after"), response.text, system)


def judge(status: int, retry_after_header: str | None, text: str, system: str) -> None:
    """`check` for any HTTP client: the status, the Retry-After header and the body's text."""
    if status == 429 or status >= 500:
        raise Retryable(f"{system} answered HTTP {status}", delay=retry_after(retry_after_header))
    if status >= 400:
        raise Permanent(f"{system} refused the notification: HTTP {status} {text[:200]}")


def unreachable(system: str, exc: Exception) -> Retryable:
    """A connection that failed or timed out: try later (the message says what, never the URL's secrets)."""
    return Retryable(f"{system} unreachable: {type(exc).__name__}", delay=0.0)
