"""The collector's source settings: one section per outside system it reads, nested under `collector`.

`CollectorSettings` (last in this module) holds them with the clusters to read. Defaults suit the embedded
run (`make run` against the sandbox): intervals of seconds, not minutes. A real cluster usually wants longer
intervals for Prometheus and Loki (30-60 s) and the same watch settings.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from healer_common.settings.cluster import ClusterSettings
from healer_common.settings.section import Section, repeated

QUERY_NAME = re.compile(r"^\s*#\s*healer:([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$", re.MULTILINE)
KUBERNETES_RESOURCES = (
    "pods",
    "events",
    "nodes",
    "persistentvolumeclaims",
    "services",
    "endpoints",
    "secrets",
    "deployments",
    "replicasets",
    "certificates",
    "coderuns",
)


class RetrySettings(Section):
    attempts: int = Field(3, ge=1, le=20, description="tries of one read before the source counts as unreachable")
    backoff_s: float = Field(0.5, gt=0, description="first delay between tries; it doubles on each further try")
    max_backoff_s: float = Field(10.0, gt=0, description="longest delay between tries")
    jitter: float = Field(
        0.2, ge=0, le=1, description="each delay varies by up to this fraction, so collectors never retry in step"
    )


class KubernetesSourceSettings(Section):
    enabled: bool = Field(True, description="watch the cluster's API (when a cluster is configured)")
    resources: list[str] = Field(
        default_factory=lambda: list(KUBERNETES_RESOURCES), description="which kinds of objects to watch"
    )
    resync_s: float = Field(
        10.0, gt=0, description="re-evaluate watched objects this often: what time alone changes, expiry metrics"
    )
    watch_timeout_s: int = Field(
        300, ge=10, description="server-side length of one watch request; it is then resumed from its resourceVersion"
    )
    read_timeout_s: float = Field(
        90.0, gt=0, description="a watch silent this long (no event, no bookmark) is dropped and resumed"
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="time to connect to the API server")
    page_size: int = Field(500, ge=1, description="objects per page when listing (limit/continue)")
    restarts_threshold: int = Field(3, ge=1, description="restarts of a not-ready container that count as dead")
    history_after_s: float = Field(
        300.0,
        ge=0,
        description="Events and OOM kills older than this are history: not news when first seen; a pod stays "
        "unready this long after an OOM kill",
    )

    @field_validator("resources")
    @classmethod
    def _known_resources(cls, value: list[str]) -> list[str]:
        if unknown := sorted(set(value) - set(KUBERNETES_RESOURCES)):
            raise ValueError(f"cannot watch {', '.join(unknown)}; choose from {', '.join(KUBERNETES_RESOURCES)}")
        return value


class ArgoCDSourceSettings(Section):
    enabled: bool = Field(True, description="read ArgoCD Applications (argoproj.io/v1alpha1) through the cluster API")


class PrometheusQuery(Section):
    """One PromQL query and the metric name its samples are published under."""

    query: str = Field(min_length=1, description="PromQL; may begin with a '# healer:<metric>' line")
    emit_as: str | None = Field(
        None, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="metric name; default: the '# healer:' line"
    )

    @model_validator(mode="after")
    def _named(self) -> PrometheusQuery:
        if self.emit_as is None and not QUERY_NAME.search(self.query):
            raise ValueError(
                f"query {self.query[:60]!r} names no metric: set emit_as, or begin it with '# healer:<metric name>'"
            )
        return self

    @property
    def metric(self) -> str:
        if self.emit_as:
            return self.emit_as
        found = QUERY_NAME.search(self.query)
        assert found is not None  # checked by _named
        return found.group(1)


class PrometheusSourceSettings(Section):
    interval_s: float = Field(10.0, gt=0, description="how often the queries run")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one query")
    default_queries: bool = Field(True, description="run the built-in query pack (kube-state-metrics, cAdvisor ...)")
    queries: list[PrometheusQuery] = Field(
        default_factory=list, description="your own PromQL queries, each with the metric name to publish under"
    )
    backfill_s: float = Field(
        600.0, ge=0, description="at start, read this much history (query_range) so trends start at once; 0: none"
    )


class LokiSourceSettings(Section):
    interval_s: float = Field(5.0, gt=0, description="how often the LogQL queries run")
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one query")
    limit: int = Field(1000, ge=1, le=5000, description="most lines read per query and run")
    overlap_s: float = Field(
        5.0, ge=0, description="each run re-reads this much of the last window, for lines Loki ingested late"
    )
    default_queries: bool = Field(True, description="run the built-in queries (errors, DNS, database, queue)")
    dns_failure_every_s: float = Field(
        10.0, ge=0, description="at most one DNSFailure per pod and host this often, however many lines say so"
    )
    queries: dict[str, str] = Field(
        default_factory=dict, description="your own LogQL queries by name; a built-in one of the same name is replaced"
    )


class ProbeTarget(Section):
    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$", description="the probe's name")
    url: str = Field(pattern=r"^https?://", description="what to request")
    method: Literal["GET", "HEAD"] = Field("GET", description="HTTP method")
    expect_status: list[int] = Field(default_factory=list, description="status codes that mean up; empty means 200-399")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="request headers (tokens stay secret)")
    interval_s: float | None = Field(None, gt=0, description="this probe's interval; default probes.interval_s")
    ca_file: Path | None = Field(None, description="CA bundle to verify the server with; default: system CAs")
    slo: float | None = Field(
        None, gt=0, lt=1, description="availability objective (e.g. 0.99): its error budget is published and watched"
    )
    slo_window_s: float = Field(3600.0, gt=0, description="the window the error budget is counted over")


class ProbesSettings(Section):
    interval_s: float = Field(15.0, gt=0, description="how often each probe runs")
    quota_window_s: float = Field(
        300.0, gt=0, description="the recent window whose spending predicts when a rate-limit quota runs out"
    )
    timeout_s: float = Field(10.0, gt=0, description="HTTP timeout of one probe")
    targets: list[ProbeTarget] = Field(
        default_factory=list, description="URLs to check: your services, GitHub, model providers, any URL"
    )

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, value: list[ProbeTarget]) -> list[ProbeTarget]:
        if twice := repeated([t.name for t in value]):
            raise ValueError(f"probe names must be unique; repeated: {', '.join(twice)}")
        return value


class CollectedCluster(ClusterSettings):
    """A cluster in `collector.clusters`: where to reach it, and its own Prometheus and Loki if it has them."""

    prometheus_url: str | None = Field(None, description="this cluster's Prometheus; collector.prometheus_url if unset")
    loki_url: str | None = Field(None, description="this cluster's Loki; collector.loki_url if unset")


class CollectorSettings(Section):
    prometheus_url: str | None = Field(None, description="Prometheus HTTP API base URL")
    loki_url: str | None = Field(None, description="Loki HTTP API base URL")
    clusters: list[CollectedCluster] = Field(
        default_factory=list,
        description="clusters Healer reads and acts on (kube contexts or in-cluster): the collector reads each, the "
        "remediator acts on an incident's own one only; [] = `cluster`",
    )
    kubernetes: KubernetesSourceSettings = KubernetesSourceSettings()
    argocd: ArgoCDSourceSettings = ArgoCDSourceSettings()
    prometheus: PrometheusSourceSettings = PrometheusSourceSettings()
    loki: LokiSourceSettings = LokiSourceSettings()
    probes: ProbesSettings = ProbesSettings()
    retry: RetrySettings = RetrySettings()

    def clusters_or(self, cluster: ClusterSettings) -> list[CollectedCluster]:
        """The clusters to read: the listed ones, or else the one `cluster` section every service shares."""
        if self.clusters:
            return self.clusters
        return [CollectedCluster(**cluster.model_dump())]

    @field_validator("clusters")
    @classmethod
    def _unique_cluster_names(cls, value: list[CollectedCluster]) -> list[CollectedCluster]:
        if twice := repeated([c.name for c in value]):
            raise ValueError(f"cluster names must be unique; repeated: {', '.join(twice)}")
        return value
