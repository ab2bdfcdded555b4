"""Alerts: the detector's output and the public face of Healer (users subscribe to `healer.alerts.*`).

An alert travels on exactly one subject token after `healer.alerts.`: its catalogue id. Its payload has the
shape Alertmanager users know (labels, annotations, startsAt/endsAt, a stable fingerprint), plus the
evidence that raised it. Severity, cluster, namespace and target are also copied into message headers
(`subjects.headers_for`) so that consumers can filter without parsing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints, field_validator

from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import Frozen, Labels, Message, stable_id

Severity = Literal["info", "warning", "critical"]
AlertStatus = Literal["firing", "resolved"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}

AlertId = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,7}$")]


class CatalogueEntry(Frozen):
    """What an alert id means; thresholds live in the detector's rule config, not here."""

    alert_id: str
    name: str
    severity: Severity
    family: Literal["agent-workflow", "platform", "healer"]
    summary: str


def _entry(alert_id: str, name: str, severity: Severity, family: str, summary: str) -> CatalogueEntry:
    return CatalogueEntry(alert_id=alert_id, name=name, severity=severity, family=family, summary=summary)


# The A-series keep the ids and meaning of today's Healer (there is no A6; A10, agent contention, is new);
# H-series are new.
CATALOGUE: dict[str, CatalogueEntry] = {
    e.alert_id: e
    for e in (
        _entry(
            "A1",
            "agent comment order mismatch",
            "warning",
            "agent-workflow",
            "an agent pod started with no PR comment from its predecessor",
        ),
        _entry(
            "A2",
            "silent agent failure",
            "critical",
            "agent-workflow",
            "pod Running but a container is dead or never became ready",
        ),
        _entry(
            "A3",
            "stale progress",
            "warning",
            "agent-workflow",
            "the PR's last commit is older than its limit while the agent runs",
        ),
        _entry(
            "A4",
            "repeated approval loop",
            "warning",
            "agent-workflow",
            "one author posted more than 2 approval comments",
        ),
        _entry("A5", "post-Tess CI failure", "critical", "agent-workflow", "Tess approved, yet a PR check failed"),
        _entry("A7", "pod failure", "critical", "agent-workflow", "pod Failed/Error or CrashLoopBackOff"),
        _entry("A8", "workflow step timeout", "warning", "agent-workflow", "an agent pod ran past its step limit"),
        _entry("A9", "stuck CodeRun", "warning", "agent-workflow", "a CodeRun stayed non-terminal too long"),
        _entry(
            "A10",
            "agent contention",
            "warning",
            "agent-workflow",
            "agents starve each other of CPU or memory on a node or namespace, or pods wait behind them",
        ),
        _entry(
            "H0",
            "observability gap",
            "warning",
            "healer",
            "a collector source cannot reach its system, so Healer is blind there",
        ),
        _entry("H1", "ArgoCD sync drift", "warning", "platform", "an Application stayed OutOfSync or Degraded"),
        _entry("H2", "resource exhaustion", "warning", "platform", "node or PVC usage high or predicted to be"),
        _entry("H3", "certificate expiry", "warning", "platform", "a TLS certificate expires soon"),
        _entry("H4", "image pull failures", "warning", "platform", "repeated ImagePullBackOff / ErrImagePull"),
        _entry(
            "H5",
            "network connectivity",
            "warning",
            "platform",
            "DNS failures, empty endpoints, failing probes",
        ),
        _entry("H6", "database health", "critical", "platform", "connection pool exhausted or slow queries"),
        _entry("H7", "queue backlog", "warning", "platform", "a job queue beyond its threshold or still growing"),
        _entry(
            "H8",
            "memory pressure",
            "critical",
            "platform",
            "OOMKilled, node MemoryPressure, usage near limit",
        ),
        _entry("H10", "predicted issue", "warning", "platform", "current conditions match a remembered failure"),
        _entry("EXT", "external alert", "warning", "platform", "an alert received from Prometheus Alertmanager"),
    )
}


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
