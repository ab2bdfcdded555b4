"""CloudEvents in every content mode a sender may use (structured, batch, binary, data_base64), read with the
CloudEvents SDK and judged by Healer's models, so a bad event gets the same reason whatever its mode."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from healer_common.contract.cloudevent_modes import decode_delivered, read_http
from healer_common.contract.events import EVENT_ADAPTER, ConditionEvent, MetricEvent
from healer_common.errors import InvalidMessage

OOM = {"resource": {"kind": "Pod", "namespace": "cto", "name": "rex-1"}, "reason": "OOMKilled"}


def sdk_event(data: Any = None, **attributes: Any) -> CloudEvent:
    """An event as a user's system builds it with the SDK."""
    base = {"id": "e-1", "source": "https://ci.example.com", "type": "healer.condition.v1", "cluster": "prod-eu-1"}
    return CloudEvent({**base, **attributes}, OOM if data is None else data)


def test_a_structured_event_is_read_as_healer_reads_it_from_json() -> None:
    message = to_structured(sdk_event(), JSONFormat())

    [event] = read_http(message.headers, message.body)

    assert isinstance(event, ConditionEvent)
    assert (event.id, event.cluster, event.data.reason) == ("e-1", "prod-eu-1", "OOMKilled")
    assert message.headers["content-type"] == "application/cloudevents+json"


def test_a_binary_mode_event_has_its_attributes_in_ce_headers_and_its_data_as_the_body() -> None:
    message = to_binary(sdk_event(datacontenttype="application/json"), JSONFormat())
    assert message.headers["ce-id"] == "e-1"
    assert json.loads(message.body) == OOM

    [event] = read_http(message.headers, message.body)

    assert isinstance(event, ConditionEvent)
    assert (event.source, event.cluster, event.data.resource.name) == ("https://ci.example.com", "prod-eu-1", "rex-1")
    assert event.time is not None


def test_headers_are_read_whatever_their_case_as_http_and_nats_may_deliver_them() -> None:
    message = to_binary(sdk_event(), JSONFormat())
    shouted = {name.title(): value for name, value in message.headers.items()}

    [event] = read_http(shouted, message.body)

    assert event.id == "e-1"


def test_data_base64_carries_the_json_data_in_base64() -> None:
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "m-1",
            "source": "exporter",
            "type": "healer.metric.v1",
            "data_base64": base64.b64encode(json.dumps({"name": "queue_depth", "value": 1523}).encode()).decode(),
        }
    ).encode()

    [event] = read_http({"content-type": "application/cloudevents+json"}, body)

    assert isinstance(event, MetricEvent)
    assert (event.data.name, event.data.value) == ("queue_depth", 1523.0)


def test_binary_data_the_sdk_writes_as_data_base64_reads_back() -> None:
    message = to_structured(sdk_event(json.dumps(OOM).encode()), JSONFormat())
    assert b"data_base64" in message.body

    [event] = read_http(message.headers, message.body)

    assert isinstance(event, ConditionEvent)
    assert event.data.reason == "OOMKilled"


def test_a_batch_is_read_item_by_item_and_a_bad_item_is_named() -> None:
    good = json.loads(to_structured(sdk_event(), JSONFormat()).body)
    batch = [good, {**good, "id": "e-2"}]

    events = read_http({"content-type": "application/cloudevents-batch+json"}, json.dumps(batch).encode())

    assert [e.id for e in events] == ["e-1", "e-2"]
    with pytest.raises(InvalidMessage, match=r"event 2 of 2: data.reason: Field required"):
        read_http({}, json.dumps([good, {**good, "data": {"resource": OOM["resource"]}}]).encode())


@pytest.mark.parametrize(
    ("headers", "body", "why"),
    [
        ({"ce-specversion": "1.0", "ce-source": "s", "ce-type": "healer.condition.v1"}, json.dumps(OOM), "id: Field"),
        (
            {"content-type": "application/cloudevents+json"},
            json.dumps({"specversion": "1.0", "source": "s", "type": "healer.condition.v1", "data": OOM}),
            "id: Field required",
        ),
        ({"content-type": "application/cloudevents+json"}, "{not json", "not a CloudEvent"),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "healer.condition.v1"},
            "oom!",
            "data: not JSON",
        ),
        (
            {
                "ce-specversion": "1.0",
                "ce-id": "1",
                "ce-source": "s",
                "ce-type": "healer.condition.v1",
                "content-type": "text/plain",
            },
            "OOMKilled",
            "datacontenttype: 'text/plain'; Healer events carry JSON data",
        ),
        (
            {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "healer.condition.v1", "ce-time": "x"},
            json.dumps(OOM),
            "not a CloudEvent",
        ),
    ],
)
def test_a_bad_event_is_refused_with_the_reason_in_any_mode(headers: dict[str, str], body: str, why: str) -> None:
    with pytest.raises(InvalidMessage, match=why):
        read_http(headers, body.encode())


def test_the_bus_reads_binary_and_base64_events_and_leaves_the_rest_to_pydantic() -> None:
    binary = to_binary(sdk_event(), JSONFormat())
    structured = to_structured(sdk_event(), JSONFormat())

    assert decode_delivered(EVENT_ADAPTER, binary.headers, binary.body).id == "e-1"
    assert decode_delivered(EVENT_ADAPTER, {}, structured.body).id == "e-1"
    with pytest.raises(InvalidMessage, match=r"data\.reason: Field required"):
        decode_delivered(EVENT_ADAPTER, binary.headers, json.dumps({"resource": OOM["resource"]}).encode())


@pytest.mark.parametrize(
    "body",
    [b"null", b'"text"', b"42", b"true", b"[" * 50_000 + b"]" * 50_000, b'{"a":' * 5_000 + b"1" + b"}" * 5_000],
    ids=["null", "string", "number", "boolean", "deep array", "deep object"],
)
def test_json_that_is_not_an_event_object_is_refused_with_a_reason_not_a_crash(body: bytes) -> None:
    """The SDK reads such bodies with AttributeError, TypeError or RecursionError: a 500 at the collector."""
    with pytest.raises(InvalidMessage):
        read_http({"Content-Type": "application/cloudevents+json"}, body)


def test_a_batch_that_is_not_an_array_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="a batch is a JSON array"):
        read_http({"Content-Type": "application/cloudevents-batch+json"}, b'{"specversion": "1.0"}')
