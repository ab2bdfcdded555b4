"""The base of every message on the bus: versioned, frozen, strict about unknown fields.

`event_id` doubles as the JetStream `Nats-Msg-Id`, so a message republished after a redelivery is
dropped by the stream's duplicate window. Producers that react to an input derive the id from the
input with `stable_id`, which is what makes at-least-once delivery safe end to end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import Annotated, Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from healer_common.clock import utcnow

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:/@-]+$")]
"""A token safe in logs, Redis keys and (after `subject_token`) subjects."""

Labels = dict[Annotated[str, StringConstraints(min_length=1, max_length=256)], str]


def new_id() -> str:
    """A fresh random id, for messages that do not derive from an earlier one."""
    return uuid.uuid4().hex


def stable_id(*parts: object) -> str:
    """A deterministic id from the parts, so redelivered inputs produce the same outputs."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:32]


class Frozen(BaseModel):
    """A value object inside a message: immutable, rejects unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Message(Frozen):
    """Fields every bus message carries."""

    schema_version: int = 1
    event_id: str = Field(default_factory=new_id, min_length=1, max_length=128)
    correlation_id: str | None = Field(
        default=None, description="Ties an alert to the incident, remediation and notifications it caused."
    )
    time: AwareDatetime = Field(default_factory=utcnow)

    def evolve(self, **changes: Any) -> Self:
        """A validated copy with changes (model_copy skips validation; this does not)."""
        data = self.model_dump(by_alias=False)  # changes are given by field name
        data.update(changes)
        return type(self).model_validate(data)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Normalise an aware datetime to UTC; naive datetimes are a programming error here."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} where a tz-aware one is required")
    return value.astimezone(dt.UTC)
