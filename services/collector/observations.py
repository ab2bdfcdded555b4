"""What sources hand to the outbox: conditions with the occurrence that makes them new, metric samples,
deliberate changes and log lines, gathered in one `Emission` per thing observed.

Sources build these from what they read; `transitions.py` keeps only the conditions that changed; the outbox
(outbox.py) wraps them in CloudEvents. The payloads are healer_common's own models (`ConditionData`,
`MetricSample`, `ChangeData`, `LogData`), so nothing here redefines the contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from healer_common.contract.events import ChangeData, ConditionData, LogData, MetricSample, ResourceRef

Json = dict[str, Any]
ObjectKey = tuple[str, str]
"""(namespace, name) of an object; namespace is "" for cluster-scoped objects."""


@dataclass(frozen=True)
class Observation:
    """A condition as a source sees it now.

    `occurrence` tells a new occurrence of the same reason from a repeat: an OOM kill at another time, a
    crash loop at another restart count. A condition is emitted when its (reason, container, occurrence) was
    not in the object's last emitted state, and never again while it stays there.
    """

    condition: ConditionData
    occurrence: str = ""

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.condition.reason, self.condition.resource.container or "", self.occurrence)


@dataclass(frozen=True)
class LogRecord:
    """A log line with its time and the key that identifies it, so a line read twice is published once."""

    data: LogData
    time: dt.datetime
    key: str


@dataclass(frozen=True)
class ChangeRecord:
    """A deliberate change with the key that identifies it (the same rollout seen twice is one change)."""

    data: ChangeData
    key: str


@dataclass
class Emission:
    """Everything one observation step produced, in the order it should be published."""

    conditions: list[Observation] = field(default_factory=list)
    samples: list[MetricSample] = field(default_factory=list)
    changes: list[ChangeRecord] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)

    def add(self, other: Emission) -> Emission:
        self.conditions.extend(other.conditions)
        self.samples.extend(other.samples)
        self.changes.extend(other.changes)
        self.logs.extend(other.logs)
        return self

    def __bool__(self) -> bool:
        return bool(self.conditions or self.samples or self.changes or self.logs)


def object_key(obj: Json) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name") or "")


def observe(
    kind: str,
    key: ObjectKey,
    reason: str,
    *,
    labels: dict[str, str],
    message: str | None = None,
    container: str | None = None,
    occurrence: str = "",
) -> Observation:
    """An Observation of `reason` about the object `key` of `kind` (labels already carry the conventions)."""
    namespace, name = key
    resource = ResourceRef(kind=kind, namespace=namespace or None, name=name, container=container)
    text = message[:8_192] if message else None
    return Observation(ConditionData(resource=resource, reason=reason, message=text, labels=labels), occurrence)


def parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 time from the Kubernetes API (`2026-01-05T09:00:00Z`), or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
