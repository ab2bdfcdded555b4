"""The dead-letter copy of a message a service could not use, built so that it always fits on the bus.

A body up to `limits.dead_letter_excerpt_bytes` is kept whole; a longer one as its beginning, marked `truncated`
with its original size. Headers and the reason are bounded too, and the encoded letter is shrunk until it fits
under NATS' max_payload: JSON escaping can make a small body large (a NUL byte becomes six characters), and a
dead letter that cannot be published is a message lost without a trace. delivery.py calls `bounded_letter`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal

from healer_common.contract.codec import encode
from healer_common.contract.health import DeadLetter

MAX_HEADERS = 32
MAX_HEADER_CHARS = 1_024
MAX_REASON_CHARS = 4_096
MIN_EXCERPT = 256


@dataclass(frozen=True)
class Original:
    """What is known of the message that failed."""

    event_id: str
    service: str
    subject: str
    body: bytes
    headers: dict[str, str]
    deliveries: int
    stream: str | None
    stream_seq: int | None


def _text(body: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    """UTF-8 text when the bytes are (a cut at the end of a multi-byte character is dropped), else base64."""
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
            return body[: exc.start].decode("utf-8", errors="replace"), "utf-8"
        return base64.b64encode(body).decode(), "base64"


def _headers(headers: dict[str, str]) -> dict[str, str]:
    kept = list(headers.items())[:MAX_HEADERS]
    return {name[:128]: str(value)[:MAX_HEADER_CHARS] for name, value in kept}


def bounded_letter(original: Original, exc: BaseException, *, excerpt_bytes: int, max_bytes: int) -> DeadLetter:
    """The dead letter for `original` failing with `exc`, at most `max_bytes` once encoded."""
    reason = (str(exc) or type(exc).__name__)[:MAX_REASON_CHARS]
    size = len(original.body)
    keep = min(size, excerpt_bytes)
    while True:
        payload, encoding = _text(original.body[:keep])
        letter = DeadLetter(
            event_id=original.event_id,
            service=original.service,
            subject=original.subject[:1_024],
            reason=reason,
            error_type=type(exc).__name__,
            payload=payload,
            payload_encoding=encoding,
            headers=_headers(original.headers),
            deliveries=original.deliveries,
            size=size,
            truncated=keep < size,
            stream=original.stream,
            stream_seq=original.stream_seq,
        )
        if len(encode(letter)) <= max_bytes or keep == 0:
            return letter
        keep = keep // 2 if keep > MIN_EXCERPT else 0
