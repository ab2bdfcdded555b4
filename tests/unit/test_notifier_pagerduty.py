"""PagerDuty both ways: Events API v2 events with the incident as dedup key, and v3 webhooks whose
acknowledgements are trusted only with a valid signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from healer_common.contract.incidents import IncidentAck
from services.notifier.channels import SAMPLES
from services.notifier.channels.pagerduty import PagerDutyChannel, event_for
from services.notifier.channels.pagerduty_webhook import ack_from, signed
from services.notifier.render import for_ack, for_incident, for_remediation
from tests.support.samples import incident, remediation

SECRET = "pd-webhook-secret"
ACKED = (SAMPLES / "pagerduty_webhook_acknowledged.json").read_bytes()


def test_a_trigger_carries_what_the_events_api_requires() -> None:
    event = event_for(for_incident(incident()), "R0UTING").model_dump(exclude_none=True)

    assert (event["routing_key"], event["event_action"], event["dedup_key"]) == ("R0UTING", "trigger", "inc-1")
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["source"] == "pod cto/rex-1"
    assert event["payload"]["summary"] == incident().title


def test_a_resolve_shares_the_triggers_dedup_key_and_needs_no_payload() -> None:
    event = event_for(for_incident(incident(state="resolved", revision=2)), "R0UTING").model_dump(exclude_none=True)

    assert event == {"routing_key": "R0UTING", "event_action": "resolve", "dedup_key": "inc-1", "client": "Healer"}


def test_pagerduty_hears_the_incident_life_but_not_remediation_steps_nor_its_own_acks() -> None:
    channel = PagerDutyChannel("http://pd.test/v2/enqueue", "R0UTING", http=None)  # type: ignore[arg-type]
    base = for_incident(incident())

    assert channel.wants(base)
    assert not channel.wants(for_remediation(remediation("running")))
    assert channel.wants(for_ack(IncidentAck(incident_id="inc-1", by="jane", source="cli"), base))
    assert not channel.wants(for_ack(IncidentAck(incident_id="inc-1", by="jane", source="pagerduty"), base))


def sign(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_is_trusted_only_with_a_signature_made_with_our_secret() -> None:
    assert signed(SECRET, ACKED, sign(ACKED))
    assert signed(SECRET, ACKED, f"v1=deadbeef, {sign(ACKED)}"), "while a secret rotates, any one may match"
    assert not signed(SECRET, ACKED, sign(ACKED, "another-secret"))
    assert not signed(SECRET, ACKED + b" ", sign(ACKED))
    assert not signed(SECRET, ACKED, None)


def test_an_acknowledgement_on_pagerduty_becomes_an_incident_ack_for_the_healer_incident() -> None:
    ack = ack_from(ACKED)

    assert ack is not None
    assert (ack.incident_id, ack.by, ack.source) == ("inc-1", "Jane Oncall", "pagerduty")
    assert ack.event_id == ack_from(ACKED).event_id, "the same webhook redelivered is the same ack"  # type: ignore[union-attr]


def test_other_webhook_events_are_ignored_and_garbage_is_refused() -> None:
    other = json.loads(ACKED)
    other["event"]["event_type"] = "incident.priority_updated"

    assert ack_from(json.dumps(other).encode()) is None
    with pytest.raises(ValueError, match="not a PagerDuty v3 webhook"):
        ack_from(b"[1, 2]")
