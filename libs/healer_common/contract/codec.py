"""JSON in and out of the bus, with errors a person can act on.

Decoding validates against the subject's model in one pass (pydantic parses the JSON itself); a failure
becomes `InvalidMessage` whose text names each bad field, e.g.
`data.resource.name: Field required; type: Input should be 'healer.metric.v1', ...`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from healer_common.contract.events import EVENT_TYPES
from healer_common.errors import InvalidMessage

MAX_REASON_ERRORS = 5


def encode(message: BaseModel) -> bytes:
    return message.model_dump_json(by_alias=True).encode()


def describe(exc: ValidationError) -> str:
    """A one-line account of what is wrong, field by field."""
    errors = exc.errors(include_url=False)
    if errors and errors[0]["type"] == "json_invalid":
        return f"body is not valid JSON: {errors[0]['msg'].removeprefix('Invalid JSON: ')}"
    parts = []
    for err in errors[:MAX_REASON_ERRORS]:
        path = err["loc"][1:] if err["loc"][:1] and err["loc"][0] in EVENT_TYPES else err["loc"]  # the union's tag
        loc = ".".join(str(p) for p in path) or "<body>"
        if err["type"] == "union_tag_not_found":
            tag = err.get("ctx", {}).get("discriminator", "type").strip("'")
            parts.append(f"{tag}: Field required (one of {', '.join(EVENT_TYPES)})")
            continue
        parts.append(f"{loc}: {err['msg']}")
    more = len(errors) - MAX_REASON_ERRORS
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def decode(model: type[BaseModel] | TypeAdapter[Any], body: bytes) -> Any:
    """Validate `body` against `model`, or raise InvalidMessage with the reason."""
    if not body:
        raise InvalidMessage("body is empty; expected a JSON object")
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_json(body)
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidMessage(describe(exc)) from None
