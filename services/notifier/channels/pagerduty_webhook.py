"""PagerDuty's side of an acknowledgement: a v3 webhook subscription POSTs `incident.acknowledged` to the
notifier's `/pagerduty/webhook`, signed in `X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>` (several
signatures, comma-separated, while a secret is being rotated). The incident's `incident_key` is the
dedup key Healer triggered it with, i.e. the Healer incident id; the ack is published as an IncidentAck, the
same as `healer ack`. Sample: samples/pagerduty_webhook_acknowledged.json.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from healer_common.contract.incidents import IncidentAck
from healer_common.contract.messages import stable_id

SIGNATURE_HEADER = "X-PagerDuty-Signature"


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """True when one of the header's v1 signatures is the body's HMAC-SHA256 under the secret."""
    if not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    offered = [part.strip().removeprefix("v1=") for part in header.split(",") if part.strip().startswith("v1=")]
    # bytes, not str: compare_digest refuses a str with non-ASCII characters, which a forger may send
    return any(hmac.compare_digest(expected.encode(), candidate.encode("utf-8", "replace")) for candidate in offered)


def ack_from(body: bytes) -> IncidentAck | None:
    """The acknowledgement a webhook carries, or None for any other event (ignored, but answered 2xx)."""
    try:
        event: dict[str, Any] = json.loads(body)["event"]
    except (ValueError, KeyError, TypeError):
        raise ValueError("not a PagerDuty v3 webhook: expected a JSON object with an 'event'") from None
    if event.get("event_type") != "incident.acknowledged":
        return None
    data = event.get("data") or {}
    incident_id = data.get("incident_key")
    if not incident_id:
        return None  # an incident that Healer did not trigger
    agent = (event.get("agent") or {}).get("summary") or "someone on PagerDuty"
    return IncidentAck(
        event_id=stable_id("pagerduty", event.get("id") or body),
        incident_id=str(incident_id)[:64],
        by=str(agent)[:128],
        source="pagerduty",
        reason=f"acknowledged on PagerDuty incident {data.get('id', '?')}",
        correlation_id=str(incident_id)[:64],
    )
