"""Server-sent events as the browser's EventSource reads them: `event: <kind>` and one `data:` line per line
of the payload, a blank line after; a comment line keeps an idle connection open through proxies.

The web dashboard listens for `dashboard` (the whole view, at once and on every change); API clients can follow
the bus itself on /api/v1/events (`alert`, `incident`, `remediation`, `ack`, `approval`).
"""

from __future__ import annotations

KEEP_ALIVE = b": keep-alive\n\n"
KINDS = {
    "alerts": "alert",
    "incidents": "incident",
    "remediations": "remediation",
    "acks": "ack",
    "approvals": "approval",
}


def frame(kind: str, data: bytes) -> bytes:
    lines = b"".join(b"data: " + line + b"\n" for line in data.splitlines() or [b""])
    return b"event: " + kind.encode() + b"\n" + lines + b"\n"


def kind_of(family: str) -> str:
    """The event name of a subject family (`healer.alerts` -> `alert`)."""
    return KINDS.get(family.rsplit(".", 1)[-1], "message")
