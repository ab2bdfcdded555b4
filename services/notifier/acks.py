"""An acknowledgement sent over HTTP (`POST /acks/{incident_id}`, body `{"reason": "..."}` or empty): who took
the incident is the caller's credential, never a name in the body. Pure: handlers.py reads the request.
"""

from __future__ import annotations

import json

from pydantic import ValidationError

from healer_common.contract.codec import describe
from healer_common.contract.incidents import IncidentAck
from healer_common.contract.messages import stable_id


def ack_from_http(incident_id: str, by: str, body: bytes) -> IncidentAck:
    """The IncidentAck a request asks for; ValueError saying what is wrong with the body."""
    try:
        fields = json.loads(body) if body.strip() else {}
    except ValueError:
        raise ValueError('body must be empty or a JSON object: {"reason": "looking"}') from None
    if not isinstance(fields, dict) or set(fields) - {"reason"}:
        raise ValueError('body may only carry a reason: {"reason": "looking"} (who acknowledges is your credential)')
    try:
        return IncidentAck(
            event_id=stable_id("http-ack", incident_id, by, fields.get("reason")),
            incident_id=incident_id,
            by=by,
            source="http",
            reason=fields.get("reason"),
            correlation_id=incident_id[:64],
        )
    except ValidationError as exc:
        raise ValueError(describe(exc)) from None
