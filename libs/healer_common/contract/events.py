"""The event contract: what collectors and users' own systems publish on `healer.events.<source>.<kind>`.

Events are CloudEvents 1.0; these models are their structured JSON form, which Healer publishes (content type
`application/cloudevents+json`). Senders may also use binary mode or `data_base64` (cloudevent_modes.py reads
them with the CloudEvents SDK into this form). The `type` attribute selects the payload in `data`:

    healer.metric.v1     one sample of a named series
    healer.metrics.v1    many samples at once (what collectors send; what makes 200k samples/s possible)
    healer.log.v1        one log line
    healer.condition.v1  something observed about a resource: OOMKilled, ImagePullBackOff, Ready ...
    healer.change.v1     something changed on purpose: a deploy, a config or flag flip, a scale, a commit or merge

The extension attribute `cluster` names the cluster (default `default`). Other CloudEvents extensions
(`traceparent`, `partitionkey` ...) are accepted as the spec allows: lowercase alphanumeric names of at most
20 characters with scalar values. Alertmanager webhook payloads are accepted too, on
`healer.events.alertmanager.<receiver>` (see `AlertmanagerWebhook`).

The JSON Schema published in `schemas/` is generated from these models (`healer schema --write`).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)

from healer_common.contract.messages import Frozen, Labels

ClusterName = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
DEFAULT_CLUSTER = "default"

_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CLOUDEVENTS_CORE = {
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "data",
}


class ResourceRef(Frozen):
    """A Kubernetes object (or a container in a pod) an event or alert is about."""

    kind: str = Field(min_length=1, max_length=63, examples=["Pod", "Deployment", "Node", "PersistentVolumeClaim"])
    namespace: str | None = Field(default=None, max_length=63)
    name: str = Field(min_length=1, max_length=253)
    container: str | None = Field(default=None, max_length=63)

    @property
    def key(self) -> str:
        """`Kind/namespace/name`, the identity used in fingerprints and locks."""
        return f"{self.kind}/{self.namespace or '-'}/{self.name}"

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind.lower()} {where}{self.name}"


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value}")
    return value


class MetricData(Frozen):
    """`healer.metric.v1`: one sample of the series (name, labels)."""

    name: str = Field(min_length=1, max_length=256, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    value: float
    labels: Labels = Field(default_factory=dict)
    unit: str | None = None

    _check_value = field_validator("value")(_finite)


class MetricSample(Frozen):
    """One sample inside a `healer.metrics.v1` batch; `time` defaults to the event's time."""

    name: str = Field(min_length=1, max_length=256, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    value: float
    labels: Labels = Field(default_factory=dict)
    time: AwareDatetime | None = None

    _check_value = field_validator("value")(_finite)


class MetricBatchData(Frozen):
    """`healer.metrics.v1`: many samples in one message, so the detector can update state in bulk."""

    samples: list[MetricSample] = Field(min_length=1, max_length=100_000)


class LogData(Frozen):
    """`healer.log.v1`: one log line with the labels of the stream it came from."""

    line: str = Field(min_length=1, max_length=65_536)
    level: str | None = Field(default=None, max_length=16)
    labels: Labels = Field(default_factory=dict)


class ConditionData(Frozen):
    """`healer.condition.v1`: an observed state of a resource (`OOMKilled`, `ImagePullBackOff`, `Ready` ...)."""

    resource: ResourceRef
    reason: str = Field(min_length=1, max_length=128)
    message: str | None = Field(default=None, max_length=8_192)
    labels: Labels = Field(default_factory=dict)


class ChangeData(Frozen):
    """`healer.change.v1`: a deliberate change; the correlator ranks recent changes as likely causes."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    what: Literal["deploy", "config", "flag", "scale", "commit", "merge"]
    resource: ResourceRef
    from_: Any = Field(default=None, validation_alias=AliasChoices("from", "from_"), serialization_alias="from")
    to: Any = None

    @field_validator("from_", "to")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        """Any JSON value, but only JSON values: NaN and infinities cannot be sent on (JSON has none)."""
        if isinstance(value, float):
            return _finite(value)
        if isinstance(value, list):
            return [cls._json_value(v) for v in value]
        if isinstance(value, dict):
            return {k: cls._json_value(v) for k, v in value.items()}
        return value


class CloudEvent(BaseModel):
    """CloudEvents 1.0 structured-mode attributes shared by every Healer event type."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024, description="URI-reference of the producer")
    time: AwareDatetime | None = None
    subject: str | None = Field(default=None, max_length=1024)
    datacontenttype: Literal["application/json"] | None = "application/json"
    dataschema: str | None = None
    cluster: ClusterName = Field(default=DEFAULT_CLUSTER, description="CloudEvents extension: the cluster's name")

    @model_validator(mode="after")
    def _check_extensions(self) -> CloudEvent:
        for name, value in (self.model_extra or {}).items():
            if not _EXTENSION_NAME.match(name):
                raise ValueError(
                    f"unknown attribute {name!r}: CloudEvents extension names are lowercase letters and "
                    "digits, at most 20 characters"
                )
            if not isinstance(value, str | int | bool) or value is None:
                raise ValueError(f"extension attribute {name!r} must be a string, integer or boolean")
        return self


class MetricEvent(CloudEvent):
    type: Literal["healer.metric.v1"]
    data: MetricData


class MetricBatchEvent(CloudEvent):
    type: Literal["healer.metrics.v1"]
    data: MetricBatchData


class LogEvent(CloudEvent):
    type: Literal["healer.log.v1"]
    data: LogData


class ConditionEvent(CloudEvent):
    type: Literal["healer.condition.v1"]
    data: ConditionData


class ChangeEvent(CloudEvent):
    type: Literal["healer.change.v1"]
    data: ChangeData


Event = Annotated[MetricEvent | MetricBatchEvent | LogEvent | ConditionEvent | ChangeEvent, Field(discriminator="type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
CHANGE_ADAPTER: TypeAdapter[ChangeEvent] = TypeAdapter(ChangeEvent)
EVENT_TYPES = (
    "healer.metric.v1",
    "healer.metrics.v1",
    "healer.log.v1",
    "healer.condition.v1",
    "healer.change.v1",
)


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager webhook (version 4), as Prometheus users already send it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"]
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: str | None = None

    @field_validator("ends_at", mode="before")
    @classmethod
    def _zero_time_is_none(cls, value: object) -> object:
        # Alertmanager sends 0001-01-01T00:00:00Z for "not ended"; that is no end at all.
        if isinstance(value, str) and value.startswith("0001-01-01"):
            return None
        return value


class AlertmanagerWebhook(BaseModel):
    """The body Alertmanager posts to a webhook receiver; extra fields of newer versions are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    version: str = "4"
    receiver: str = ""
    status: Literal["firing", "resolved"]
    group_labels: Labels = Field(default_factory=dict, alias="groupLabels")
    common_labels: Labels = Field(default_factory=dict, alias="commonLabels")
    external_url: str | None = Field(default=None, alias="externalURL")
    alerts: list[AlertmanagerAlert] = Field(min_length=1)
