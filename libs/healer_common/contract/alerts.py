"""Alerts: the detector's output and the public face of Healer (users subscribe to `healer.alerts.*`).

An alert travels on exactly one subject token after `healer.alerts.`: its catalogue id. Its payload is an
Alertmanager v2 alert (`labels` with a readable `alertname` such as `MemoryPressure` and the catalogue id in
`alert_id`; `annotations` with `summary`, `description`, `runbook_url`; `startsAt`, `endsAt`, `generatorURL`,
`fingerprint`, `status`), plus what Healer adds: the evidence that raised it, the cluster, the resource.
Severity, cluster, namespace and target are also copied into message headers (`headers.headers_for`) so that
consumers can filter without parsing.

Schema versions, for subscribers that migrate: version 2 is the shape above. Version 1 (before the catalogue
id moved out of `alertname`) had `starts_at`/`ends_at`, `alertname` = the catalogue id, no `generatorURL`;
every reader of `Alert` still accepts it, and `alerts.schema_version: 1` keeps publishing it (`as_v1`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, field_validator, model_validator

from healer_common.contract.catalogue import CATALOGUE, CatalogueEntry
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import Frozen, Labels, Message, stable_id

Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["firing", "resolved"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

__all__ = [
    "CATALOGUE",
    "SEVERITY_RANK",
    "Alert",
    "AlertId",
    "AlertStatus",
    "CatalogueEntry",
    "Evidence",
    "Severity",
    "alert_fingerprint",
    "alert_labels",
]

AlertId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,7}$")]
ALERT_SCHEMA: Literal[2] = 2
"""The schema version of the alerts Healer publishes; readers accept 1 as well (see the module's docstring)."""


class Evidence(Frozen):
    """What raised an alert: an event, a series with its recent values, a log signature, a memory."""

    kind: Literal["event", "series", "log", "change", "memory", "probe"]
    summary: str = Field(max_length=2_048)
    ref: str | None = Field(default=None, description="event id, series key or memory id")
    values: list[float] = Field(default_factory=list, max_length=256)
    time: AwareDatetime | None = None


def _as_v2(data: Any) -> Any:
    """A version 1 alert (or one built with Python names) as version 2: the readable `alertname` and the
    catalogue id in `alert_id`; field names are read either way (validate_by_name)."""
    if not isinstance(data, dict) or data.get("schema_version", 1) not in (1, ALERT_SCHEMA):
        return data  # a version this Healer does not know: the field says so
    alert_id = data.get("alert_id")
    if not isinstance(alert_id, str) or alert_id not in CATALOGUE:
        return data  # the field validator says what is wrong
    labels = dict(data.get("labels") or {})
    if alert_id != "EXT" and labels.get("alertname", alert_id) == alert_id:
        labels["alertname"] = CATALOGUE[alert_id].alertname
    labels.setdefault("alertname", CATALOGUE[alert_id].alertname)
    labels["alert_id"] = alert_id
    return {**data, "schema_version": ALERT_SCHEMA, "labels": labels}


class Alert(Message):
    """A firing or resolved alert; one fingerprint per (catalogue id, cluster, target, identifying labels)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    schema_version: Literal[2] = ALERT_SCHEMA
    alert_id: AlertId = Field(description="the catalogue id, also the subject token and the `alert_id` label")
    status: AlertStatus
    severity: Severity
    fingerprint: str = Field(min_length=8, max_length=64)
    cluster: str
    namespace: str | None = None
    resource: ResourceRef | None = None
    labels: Labels = Field(
        default_factory=dict, description="Alertmanager labels: alertname (readable), alert_id, severity, cluster ..."
    )
    annotations: Labels = Field(
        default_factory=dict, description="Alertmanager annotations: summary, description, runbook_url ..."
    )
    starts_at: AwareDatetime = Field(alias="startsAt", title="Starts At", description="when it began to fire")
    ends_at: AwareDatetime | None = Field(None, alias="endsAt", title="Ends At", description="when it resolved")
    generator_url: str | None = Field(
        None, alias="generatorURL", title="Generator URL", description="what raised it (alerts.generator_url)"
    )
    evidence: list[Evidence] = Field(default_factory=list, max_length=64)
    generator: str = "detector"

    @model_validator(mode="before")
    @classmethod
    def _read_v1(cls, data: Any) -> Any:
        return _as_v2(data)

    @field_validator("alert_id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CATALOGUE:
            raise ValueError(f"alert id {value!r} is not in the catalogue ({', '.join(CATALOGUE)})")
        return value

    @property
    def name(self) -> str:
        return CATALOGUE[self.alert_id].name

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname", CATALOGUE[self.alert_id].alertname)

    @property
    def predicted(self) -> bool:
        return self.labels.get("predicted") == "true"

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def target(self) -> str:
        """Human-readable target, e.g. `pod cto/rex-1`."""
        return str(self.resource) if self.resource else self.labels.get("target", self.cluster)

    def summary(self) -> str:
        text = self.annotations.get("summary")
        return text or f"{self.alert_id} {self.name} on {self.target}"

    def as_v1(self) -> dict[str, Any]:
        """The version 1 JSON of this alert, for subscribers not migrated yet (`alerts.schema_version: 1`)."""
        data = self.model_dump(mode="json", by_alias=False, exclude={"generator_url"})
        labels = {k: v for k, v in self.labels.items() if k != "alert_id"}
        if self.alert_id != "EXT":
            labels["alertname"] = self.alert_id
        return {**data, "schema_version": 1, "labels": labels}


def linked(alert: Alert, *, runbook_url: str, generator_url: str) -> Alert:
    """The alert with its `runbook_url` annotation and `generatorURL` filled in from the operators' templates
    (`{alert_id}`, `{alertname}`, `{cluster}`, `{generator}`, `{fingerprint}`), unless it brought its own (an
    Alertmanager alert keeps Prometheus's links)."""
    if alert.generator_url and "runbook_url" in alert.annotations:
        return alert
    fields = {
        "alert_id": alert.alert_id,
        "alertname": alert.alertname,
        "cluster": alert.cluster,
        "generator": alert.generator,
        "fingerprint": alert.fingerprint,
    }
    annotations = {"runbook_url": runbook_url.format(**fields), **alert.annotations}
    # Both are plain strings, under a key that is valid and keys already validated: validating the whole alert
    # again for them (`evolve`) was a tenth of the detector's CPU relaying a storm.
    links = {"annotations": annotations, "generator_url": alert.generator_url or generator_url.format(**fields)}
    return alert.model_copy(update=links)


def alert_fingerprint(alert_id: str, cluster: str, resource: ResourceRef | None, labels: Labels) -> str:
    """Stable across restarts and replicas: a hash of the alert's identity, never of its values."""
    identity = sorted((k, v) for k, v in labels.items() if k not in {"severity", "predicted", "summary"})
    return stable_id(alert_id, cluster, resource.key if resource else "", identity)[:16]


def alert_labels(alert_id: str, severity: Severity, cluster: str, resource: ResourceRef | None) -> dict[str, str]:
    """The Alertmanager label set every Healer alert carries: a readable `alertname`, the catalogue id."""
    labels = {"alertname": CATALOGUE[alert_id].alertname, "alert_id": alert_id, "severity": severity}
    labels["cluster"] = cluster
    if resource is not None:
        if resource.namespace:
            labels["namespace"] = resource.namespace
        labels[resource.kind.lower()] = resource.name
        if resource.container:
            labels["container"] = resource.container
    return labels
