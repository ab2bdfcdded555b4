"""Deliberate changes (`healer.change.v1`: a deploy, a config or flag flip, a scale) as the correlator keeps
them: where they landed in the topology and when, so that causes.py can weigh "deployed just before the
alerts" and environments.py can say which version runs where. Pure; change_store.py keeps them in Redis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from healer_common.contract.events import ChangeEvent, ResourceRef
from services.correlator.topology import Anchor, anchor_of_resource


class ChangeRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    change_id: str
    cluster: str
    what: str
    resource: ResourceRef
    from_version: str | None = None
    to_version: str | None = None
    at: AwareDatetime
    source: str

    @property
    def anchor(self) -> Anchor | None:
        return anchor_of_resource(self.cluster, self.resource)

    def describe(self) -> str:
        versions = f" {self.from_version or '?'} -> {self.to_version}" if self.to_version else ""
        return f"{self.what} of {self.resource}{versions} at {self.at:%H:%M:%S}"


def _version(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)[:128]


def change_record(event: ChangeEvent, received_at: dt.datetime) -> ChangeRecord:
    """The change as kept; its time is when it happened (the event's time), else when it was heard of."""
    data = event.data
    return ChangeRecord(
        change_id=f"{event.source}/{event.id}",
        cluster=event.cluster,
        what=data.what,
        resource=data.resource,
        from_version=_version(data.from_),
        to_version=_version(data.to),
        at=event.time or received_at,
        source=event.source,
    )
