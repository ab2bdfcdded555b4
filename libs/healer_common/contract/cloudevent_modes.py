"""CloudEvents in every content mode a sender may use, read with the CloudEvents SDK (PyPI `cloudevents`) and
judged by the pydantic models of events.py, so a bad event is refused with the same reasons whatever its mode.

    structured   the whole event as one JSON object (`application/cloudevents+json`, or plain JSON)
    batch        a JSON array of structured events (`application/cloudevents-batch+json`), over HTTP
    binary       the attributes as `ce-*` headers, `datacontenttype` as `content-type`, the data as the body:
                 over HTTP (`POST /events/<source>`) and over NATS (the NATS binding's headers are the same)
    data_base64  structured events whose data is base64 (JSON inside); decoded before validation

The SDK maps headers to attributes (percent-decoding, `content-type`) and decodes `data_base64`; it is told not
to invent an `id` or a `time` (its event class fills in a random id, which would defeat de-duplication and hide
a sender's mistake), so a missing `id` is refused here as in structured mode. On the bus, a structured event
without `data_base64` goes straight to pydantic: the collector's metric batches are the firehose, and handing
them through the SDK would parse their JSON twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.http import HTTPMessage, from_binary, from_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from pydantic import BaseModel, TypeAdapter, ValidationError

from healer_common.contract.codec import decode, describe
from healer_common.contract.events import CHANGE_ADAPTER, EVENT_ADAPTER, Event
from healer_common.errors import InvalidMessage

BATCH = "application/cloudevents-batch+json"
JSON_DATA = "application/json"
_JSON_TYPE = re.compile(r"^(application|text)/([a-zA-Z0-9.-]+\+)?json(;.*)?$")
_FORMAT = JSONFormat()


class _AsSent(SdkEvent):
    """The SDK's event without its defaults: what the sender sent, for the pydantic models to judge."""

    def __init__(self, attributes: dict[str, Any], data: dict[str, Any] | str | bytes | None = None) -> None:
        self._attributes = attributes
        self._data = data


def is_binary(headers: Mapping[str, str]) -> bool:
    """Binary mode: the attributes travel as `ce-*` headers (`ce-specversion` at least)."""
    return any(name.lower() == "ce-specversion" for name in headers)


def _structured(event: BaseCloudEvent) -> dict[str, Any]:
    """The event as one structured JSON object, its data parsed (binary bodies and data_base64 are bytes)."""
    attributes = dict(event.get_attributes())
    content_type = str(attributes.get("datacontenttype") or JSON_DATA)
    if not _JSON_TYPE.match(content_type):
        raise InvalidMessage(f"datacontenttype: {content_type!r}; Healer events carry JSON data ({JSON_DATA})")
    if "datacontenttype" in attributes:
        attributes["datacontenttype"] = JSON_DATA
    data = event.get_data()
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidMessage(f"data: not JSON ({exc})") from None
    return {**attributes, "data": data}


def _read(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    message = HTTPMessage(headers=dict(headers), body=body)
    try:
        event = (
            from_binary(message, _FORMAT, _AsSent) if is_binary(headers) else from_structured(message, _FORMAT, _AsSent)
        )
    except UnicodeDecodeError:
        raise InvalidMessage("body is not UTF-8 text; send JSON") from None
    except ValueError as exc:  # the JSON, or a `time` that is not RFC 3339
        raise InvalidMessage(f"body is not a CloudEvent: {exc}") from None
    except (AttributeError, TypeError):  # the SDK reading JSON that is not an object (null, a string, a number)
        raise InvalidMessage("body is not a CloudEvent: a JSON object is expected") from None
    except RecursionError:
        raise InvalidMessage("body is not valid JSON: nested too deeply") from None
    return _structured(event)


def _judge(model: TypeAdapter[Any] | type[BaseModel], event: dict[str, Any]) -> Any:
    try:
        return model.validate_python(event) if isinstance(model, TypeAdapter) else model.model_validate(event)
    except ValidationError as exc:
        raise InvalidMessage(describe(exc)) from None


def read_http(headers: Mapping[str, str], body: bytes) -> list[Event]:
    """The events of one HTTP request in any mode; InvalidMessage naming what is wrong (and in which item)."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not is_binary(headers) and (content_type.startswith(BATCH) or body.lstrip()[:1] == b"["):
        try:
            items = json.loads(body)
        except ValueError as exc:
            raise InvalidMessage(f"body is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidMessage("body is not valid JSON: nested too deeply") from None
        if not isinstance(items, list):
            raise InvalidMessage(f"a batch is a JSON array of CloudEvents, not {type(items).__name__}")
        events = []
        for number, item in enumerate(items, start=1):
            try:
                events.append(_judge(EVENT_ADAPTER, _read({}, json.dumps(item).encode())))
            except InvalidMessage as exc:
                raise InvalidMessage(f"event {number} of {len(items)}: {exc}") from None
        return events
    return [_judge(EVENT_ADAPTER, _read(headers, body))]


def decode_delivered(model: TypeAdapter[Any] | type[BaseModel], headers: Mapping[str, str], body: bytes) -> Any:
    """A message as the bus delivered it: binary-mode and data_base64 events through the SDK, the rest (and
    every message that is not a CloudEvent) straight to pydantic."""
    cloudevent = model is EVENT_ADAPTER or model is CHANGE_ADAPTER
    if cloudevent and (is_binary(headers) or b'"data_base64"' in body):
        return _judge(model, _read(headers, body))
    return decode(model, body)
