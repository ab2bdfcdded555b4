"""Alerts: the detector's output and the public face of Healer (users subscribe to `healer.alerts.*`).

An alert travels on exactly one subject token after `healer.alerts.`: its catalogue id. Its payload has the
shape Alertmanager users know (labels, annotations, startsAt/endsAt, a stable fingerprint), plus the
evidence that raised it. Severity, cluster, namespace and target are also copied into message headers
(`subjects.headers_for`) so that consumers can filter without parsing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

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


class Evidence(Frozen):
    """What raised an alert: an event, a series with its recent values, a log signature, a memory."""

    kind: Literal["event", "series", "log", "change", "memory", "probe"]
    summary: str = Field(max_length=2_048)
    ref: str | None = Field(default=None, description="event id, series key or memory id")
    values: list[float] = Field(default_factory=list, max_length=256)
    time: AwareDatetime | None = None


class Alert(Message):
    """A firing or resolved alert; one fingerprint per (catalogue id, cluster, target, identifying labels)."""

    alert_id: AlertId
    status: AlertStatus
    severity: Severity
    fingerprint: str = Field(min_length=8, max_length=64)
    cluster: str
    namespace: str | None = None
    resource: ResourceRef | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    evidence: list[Evidence] = Field(default_factory=list, max_length=64)
    generator: str = "detector"

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


def alert_fingerprint(alert_id: str, cluster: str, resource: ResourceRef | None, labels: Labels) -> str:
    """Stable across restarts and replicas: a hash of the alert's identity, never of its values."""
    identity = sorted((k, v) for k, v in labels.items() if k not in {"severity", "predicted", "summary"})
    return stable_id(alert_id, cluster, resource.key if resource else "", identity)[:16]


def alert_labels(alert_id: str, severity: Severity, cluster: str, resource: ResourceRef | None) -> dict[str, str]:
    """The Alertmanager-style label set every Healer alert carries."""
    labels = {"alertname": alert_id, "severity": severity, "cluster": cluster}
    if resource is not None:
        if resource.namespace:
            labels["namespace"] = resource.namespace
        labels[resource.kind.lower()] = resource.name
        if resource.container:
            labels["container"] = resource.container
    return labels
