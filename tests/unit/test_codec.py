"""JSON in and out of the bus: the reasons a sender reads when a body is refused, and the encoding itself."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from healer_common.contract.alerts import Alert
from healer_common.contract.codec import MAX_REASON_ERRORS, decode, describe, encode
from healer_common.contract.events import EVENT_ADAPTER, AlertmanagerAlert
from healer_common.contract.remediations import ApprovalDecision
from healer_common.errors import InvalidMessage, Permanent
from tests.support.samples import alert, cloudevent


def reason_for(model: type[ApprovalDecision], body: bytes) -> str:
    with pytest.raises(InvalidMessage) as caught:
        decode(model, body)
    return str(caught.value)


def test_an_empty_body_is_refused_saying_a_json_object_was_expected() -> None:
    with pytest.raises(InvalidMessage, match=r"^body is empty; expected a JSON object$"):
        decode(EVENT_ADAPTER, b"")


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"a": 1,}', b"\xff\xfe\x00"])
def test_a_body_that_is_not_json_is_refused_as_not_valid_json(body: bytes) -> None:
    with pytest.raises(InvalidMessage, match=r"^body is not valid JSON: "):
        decode(EVENT_ADAPTER, body)


def test_the_reason_names_the_path_of_a_missing_nested_field() -> None:
    body = cloudevent("healer.condition.v1", {"resource": {"kind": "Pod"}, "reason": "OOMKilled"})

    with pytest.raises(InvalidMessage) as caught:
        decode(EVENT_ADAPTER, json.dumps(body).encode())

    assert "data.resource.name: Field required" in str(caught.value)


def test_the_reason_names_each_bad_field_with_its_message() -> None:
    reason = reason_for(ApprovalDecision, b'{"remediation_id": "", "decision": "maybe", "by": "alice"}')

    assert "remediation_id: String should have at least 1 character" in reason
    assert "decision: Input should be 'approve' or 'deny'" in reason
    assert "by:" not in reason


def test_a_body_that_is_not_an_object_is_named_as_the_body() -> None:
    reason = reason_for(ApprovalDecision, b"[1, 2]")

    assert reason.startswith("<body>: ")


def test_the_reason_lists_a_few_errors_and_counts_the_rest() -> None:
    body = json.dumps({f"extra{i}": i for i in range(MAX_REASON_ERRORS + 3)}).encode()

    reason = reason_for(ApprovalDecision, body)

    assert reason.count(": ") == MAX_REASON_ERRORS
    assert reason.endswith("and 6 more")  # 3 required fields missing + 8 unknown fields - 5 listed


def test_describe_accounts_for_a_validation_error_raised_outside_decode() -> None:
    with pytest.raises(ValidationError) as caught:
        AlertmanagerAlert.model_validate({"status": "pending", "labels": {}, "startsAt": "2026-01-05T09:00:00Z"})

    assert describe(caught.value) == "status: Input should be 'firing' or 'resolved'"


def test_an_invalid_message_is_a_permanent_error() -> None:
    with pytest.raises(Permanent):
        decode(EVENT_ADAPTER, b"{}")


def test_a_message_survives_encode_then_decode() -> None:
    original = alert()

    assert decode(Alert, encode(original)) == original


def test_encode_writes_json_names_not_python_names() -> None:
    body = cloudevent("healer.change.v1", {"what": "scale", "resource": {"kind": "Deployment", "name": "rex"}, "to": 3})
    event = EVENT_ADAPTER.validate_python({**body, "data": {**body["data"], "from": 1}})

    data = json.loads(encode(event))["data"]

    assert (data["from"], data["to"]) == (1, 3)
