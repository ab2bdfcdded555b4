"""Rate-limit headers as numbers: how much quota is left, out of how much, and when it resets.

The conventions in use, in the order they are tried:

    GitHub        x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset (epoch seconds)
    OpenAI        x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests ("6m0s")
    Anthropic     anthropic-ratelimit-requests-limit, -remaining, -reset (RFC 3339)
    IETF draft    ratelimit-limit, ratelimit-remaining, ratelimit-reset (seconds from now)
    Retry-After   seconds or an HTTP date, on 429 and 503

Pure: the probes and the HTTP readers pass headers (lower-cased names) and the time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import math
from collections.abc import Mapping
from dataclasses import dataclass

from healer_common.durations import parse_duration
from services.collector.observations import parse_time

_FAMILIES = (
    ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"),
    ("x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"),
    (
        "anthropic-ratelimit-requests-limit",
        "anthropic-ratelimit-requests-remaining",
        "anthropic-ratelimit-requests-reset",
    ),
    ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"),
)
EPOCH_AFTER = 1_000_000_000  # a reset this large is an epoch time (GitHub), not a delay


@dataclass(frozen=True)
class RateLimit:
    limit: float | None
    remaining: float | None
    reset_s: float | None

    @property
    def remaining_ratio(self) -> float | None:
        if self.limit is None or self.remaining is None or self.limit <= 0:
            return None
        return max(0.0, min(1.0, self.remaining / self.limit))


def _number(value: str | None) -> float | None:
    """The leading number of a header value ("100", "100;w=60"); None when there is none or it is not finite."""
    if value is None:
        return None
    try:
        number = float(value.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def seconds_until(value: str | None, now: dt.datetime) -> float | None:
    """A reset or Retry-After value as seconds from now: a number, an epoch, a Go duration, or a date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if (number := _number(text)) is not None:
        return max(0.0, number - now.timestamp() if number > EPOCH_AFTER else number)
    with contextlib.suppress(ValueError):
        return parse_duration(text)
    when = parse_time(text)
    if when is None:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # "-0000" in an HTTP date means UTC with no claim about the sender's zone
            when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def rate_limit(headers: Mapping[str, str], now: dt.datetime) -> RateLimit | None:
    """The quota the headers announce; None when they announce none."""
    retry_after = seconds_until(headers.get("retry-after"), now)
    for limit, remaining, reset in _FAMILIES:
        if remaining in headers:
            left = _number(headers.get(remaining))
            # a spent quota's Retry-After is the server's own answer to "when?", to the second; an epoch reset
            # read a moment later is already a fraction of a second off
            when = retry_after if left == 0 and retry_after is not None else seconds_until(headers.get(reset), now)
            return RateLimit(_number(headers.get(limit)), left, when)
    if "retry-after" in headers:
        return RateLimit(None, 0.0, retry_after)
    return None
