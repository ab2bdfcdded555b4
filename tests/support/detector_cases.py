"""Each catalogue rule's trouble and its end, as the collector reports them, with how long each must last
under the embedded defaults: the table the unit tests (test_detector_rules.py) and the tests on real NATS and
Redis (tests/integration/test_detector_rules.py) both run.
"""

from __future__ import annotations

from dataclasses import dataclass

from healer_common.contract.events import ResourceRef

POD = ResourceRef(kind="Pod", namespace="cto", name="rex-1")
NODE = ResourceRef(kind="Node", name="node-a")
APP = ResourceRef(kind="Application", namespace="argocd", name="payments")
CODERUN = ResourceRef(kind="CodeRun", namespace="cto", name="run-7")
SERVICE = ResourceRef(kind="Service", namespace="cto", name="api")
PROBE = ResourceRef(kind="Probe", name="https://api.example.com/healthz")
SOURCE = ResourceRef(kind="Source", name="prometheus")
CONFIGMAP = ResourceRef(kind="ConfigMap", namespace="cto", name="gateway-config")
SECRET = ResourceRef(kind="Secret", namespace="cto", name="db-credentials")


@dataclass(frozen=True)
class Signal:
    """One report of the collector: a condition on an object, or one sample of a series."""

    labels: dict[str, str]
    reason: str = ""
    resource: ResourceRef | None = None
    metric: str = ""
    value: float = 0.0


def condition(reason: str, resource: ResourceRef, **labels: str) -> Signal:
    return Signal(labels, reason=reason, resource=resource)


def metric(name: str, value: float, **labels: str) -> Signal:
    return Signal(labels, metric=name, value=value)


@dataclass(frozen=True)
class Case:
    name: str
    alert_id: str
    trouble: Signal
    recovery: Signal
    hold_s: float  # how long trouble lasts before the alert fires (0: at once)
    resolve_s: float = 0.0  # how long recovery lasts before the alert resolves
    hover: Signal | None = None  # a value between the clear level and the threshold

    def __str__(self) -> str:
        return self.name


PVC = {"namespace": "cto", "persistentvolumeclaim": "data-0", "node": "node-a"}
CASES = [
    Case("source unreachable", "H0", condition("SourceUnreachable", SOURCE), condition("SourceHealthy", SOURCE), 30),
    Case("app out of sync", "H1", condition("OutOfSync", APP), condition("Synced", APP), 120),
    Case("app degraded", "H1", condition("Degraded", APP), condition("Healthy", APP), 120),
    Case(
        "pvc filling",
        "H2",
        metric("pvc_usage_ratio", 0.91, **PVC),
        metric("pvc_usage_ratio", 0.5, **PVC),
        60,
        60,
        metric("pvc_usage_ratio", 0.79, **PVC),
    ),
    Case(
        "node disk full",
        "H2",
        metric("node_filesystem_usage_ratio", 0.95, node="node-a", mountpoint="/"),
        metric("node_filesystem_usage_ratio", 0.4, node="node-a", mountpoint="/"),
        60,
        60,
    ),
    Case("disk pressure", "H2", condition("DiskPressure", NODE), condition("NodeHealthy", NODE), 0),
    Case(
        "certificate expiring",
        "H3",
        metric("certificate_expiry_seconds", 5 * 86_400, namespace="cto", certificate="api-tls"),
        metric("certificate_expiry_seconds", 80 * 86_400, namespace="cto", certificate="api-tls"),
        0,
        0,
        metric("certificate_expiry_seconds", 14.5 * 86_400, namespace="cto", certificate="api-tls"),
    ),
    # repeated: the second report 15 s later fires (a single report would have to persist h4.for_s)
    Case("bad image tag", "H4", condition("ImagePullBackOff", POD), condition("Ready", POD), 15),
    Case(
        "service without endpoints",
        "H5",
        condition("EndpointsEmpty", SERVICE),
        condition("EndpointsReady", SERVICE),
        30,
    ),
    Case("probe failing", "H5", condition("ProbeFailed", PROBE), condition("ProbeSucceeded", PROBE), 30),
    Case(
        "probe success low",
        "H5",
        metric("probe_success", 0, target="https://api.example.com"),
        metric("probe_success", 1, target="https://api.example.com"),
        60,
        30,
    ),
    Case(
        "pool exhausted",
        "H6",
        metric("db_connection_pool_usage_ratio", 1.0, namespace="cto", database="orders"),
        metric("db_connection_pool_usage_ratio", 0.4, namespace="cto", database="orders"),
        60,
        60,
        metric("db_connection_pool_usage_ratio", 0.94, namespace="cto", database="orders"),
    ),
    Case(
        "slow queries",
        "H6",
        metric("db_query_duration_p99_seconds", 4.0, namespace="cto", database="orders"),
        metric("db_query_duration_p99_seconds", 0.05, namespace="cto", database="orders"),
        60,
        60,
    ),
    Case(
        "queue backlog",
        "H7",
        metric("queue_depth", 5_000, namespace="cto", queue="builds"),
        metric("queue_depth", 10, namespace="cto", queue="builds"),
        60,
        60,
        metric("queue_depth", 980, namespace="cto", queue="builds"),
    ),
    Case("oom killed", "H8", condition("OOMKilled", POD), condition("Ready", POD), 0),
    Case("node memory pressure", "H8", condition("MemoryPressure", NODE), condition("NodeHealthy", NODE), 0),
    Case(
        "container near its memory limit",
        "H8",
        metric("container_memory_usage_ratio", 0.97, namespace="cto", pod="rex-1", container="rex"),
        metric("container_memory_usage_ratio", 0.3, namespace="cto", pod="rex-1", container="rex"),
        60,
        60,
        metric("container_memory_usage_ratio", 0.88, namespace="cto", pod="rex-1", container="rex"),
    ),
    Case(
        "dead agent container",
        "A2",
        condition("ContainerNotReady", POD, method="not_ready", agent="5DLabs-Rex"),
        condition("Ready", POD),
        30,
    ),
    Case("pod failed", "A7", condition("Failed", POD), condition("Ready", POD), 0),
    Case(
        "tess step overrun",
        "A8",
        condition("PodRunning", POD, agent="5DLabs-Tess"),
        condition("Succeeded", POD),
        30 * 60,
    ),
    Case("stuck coderun", "A9", condition("CodeRunRunning", CODERUN), condition("CodeRunFinished", CODERUN), 600),
    Case("node not ready", "H9", condition("NotReady", NODE), condition("NodeReady", NODE), 0),
    Case("kubelet stopped posting", "H9", condition("KubeletStopped", NODE), condition("NodeHealthy", NODE), 0),
    Case("node network unavailable", "H9", condition("NetworkUnavailable", NODE), condition("NodeHealthy", NODE), 30),
    Case("node left cordoned", "H9", condition("Unschedulable", NODE), condition("NodeHealthy", NODE), 3600),
    Case("pid pressure", "H2", condition("PIDPressure", NODE), condition("NodeHealthy", NODE), 0),
    Case(
        "config drifted from git", "H1", condition("ConfigDrift", CONFIGMAP), condition("ConfigSynced", CONFIGMAP), 60
    ),
    Case("secret rotated", "H3", condition("SecretRotated", SECRET), condition("SecretConsumersCurrent", SECRET), 30),
    Case(
        "git ahead of deployed",
        "H1",
        metric("argocd_app_revision_age_seconds", 1_800, namespace="argocd", application="payments"),
        metric("argocd_app_revision_age_seconds", 0, namespace="argocd", application="payments"),
        0,
        60,
    ),
    Case(
        "helm release behind its chart",
        "H1",
        metric("helm_release_behind", 1, namespace="argocd", application="payments"),
        metric("helm_release_behind", 0, namespace="argocd", application="payments"),
        600,
        60,
    ),
    Case(
        "scheduling pressure",
        "H2",
        metric("node_cpu_request_ratio", 0.97, node="node-a"),
        metric("node_cpu_request_ratio", 0.5, node="node-a"),
        60,
        60,
    ),
    Case(
        "namespace over its requests",
        "H2",
        metric("namespace_memory_request_ratio", 2.0, namespace="cto"),
        metric("namespace_memory_request_ratio", 0.8, namespace="cto"),
        60,
        60,
    ),
    Case(
        "namespace quota nearly used",
        "H2",
        metric("namespace_cpu_quota_ratio", 0.95, namespace="cto"),
        metric("namespace_cpu_quota_ratio", 0.5, namespace="cto"),
        60,
        60,
    ),
    Case(
        "rate limit nearly spent",
        "H2",
        metric("ratelimit_remaining_ratio", 0.02, target="https://api.github.com/rate_limit"),
        metric("ratelimit_remaining_ratio", 0.9, target="https://api.github.com/rate_limit"),
        0,
        60,
    ),
    Case(
        "slow probe",
        "H5",
        metric("probe_duration_seconds", 5.0, target="https://api.example.com"),
        metric("probe_duration_seconds", 0.2, target="https://api.example.com"),
        60,
        30,
    ),
    Case(
        "slow api server",
        "H11",
        metric("apiserver_request_p99_seconds", 3.0, verb="LIST"),
        metric("apiserver_request_p99_seconds", 0.1, verb="LIST"),
        120,
        60,
    ),
]
