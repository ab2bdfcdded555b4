"""Every catalogue rule as an SRE meets it, with the embedded defaults and a manual clock: quiet while trouble
is younger than its hold, fires once it has held, resolves when trouble ends, and does not flap when trouble
comes and goes. Each case is one rule's trouble and its end, as the collector reports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from healer_common.alerts import Alert
from healer_common.events import ResourceRef
from tests.unit.detector_harness import Detector

Report = Callable[[Detector], list[Alert]]
POD = ResourceRef(kind="Pod", namespace="cto", name="rex-1")
NODE = ResourceRef(kind="Node", name="node-a")
APP = ResourceRef(kind="Application", namespace="argocd", name="payments")
CODERUN = ResourceRef(kind="CodeRun", namespace="cto", name="run-7")
SERVICE = ResourceRef(kind="Service", namespace="cto", name="api")
PROBE = ResourceRef(kind="Probe", name="https://api.example.com/healthz")
SOURCE = ResourceRef(kind="Source", name="prometheus")


def condition(reason: str, resource: ResourceRef, **labels: str) -> Report:
    return lambda d: d.condition(reason, resource, labels)


def metric(name: str, value: float, **labels: str) -> Report:
    return lambda d: d.metric(name, value, labels)


@dataclass(frozen=True)
class Case:
    name: str
    alert_id: str
    trouble: Report
    recovery: Report
    hold_s: float  # how long trouble lasts before the alert fires (0: at once)
    resolve_s: float = 0.0  # how long recovery lasts before the alert resolves
    hover: Report | None = None  # a value between the clear level and the threshold

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
]


def troubled_for(detector: Detector, case: Case, seconds: float) -> list[Alert]:
    """Trouble reported every 15 s (as a collector's scrape would) for `seconds`."""
    alerts = case.trouble(detector)
    elapsed = 0.0
    while elapsed < seconds:
        step = min(15.0, seconds - elapsed)
        alerts += detector.advance(step)
        elapsed += step
        if step == 15.0:
            alerts += case.trouble(detector)
    return alerts


def recovered_for(detector: Detector, case: Case, seconds: float) -> list[Alert]:
    alerts = case.recovery(detector)
    elapsed = 0.0
    while elapsed < seconds:
        alerts += detector.advance(min(15.0, seconds - elapsed))
        elapsed += 15.0
        alerts += case.recovery(detector)
    return alerts


def of(alerts: list[Alert], case: Case) -> list[tuple[str, str]]:
    return [(a.alert_id, a.status) for a in alerts if a.alert_id == case.alert_id]


@pytest.mark.parametrize("case", [c for c in CASES if c.hold_s > 0], ids=str)
def test_trouble_younger_than_its_hold_stays_quiet(case: Case) -> None:
    detector = Detector()

    alerts = troubled_for(detector, case, case.hold_s - 10)

    assert of(alerts, case) == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_trouble_that_holds_fires_one_alert_naming_its_evidence(case: Case) -> None:
    detector = Detector()

    alerts = troubled_for(detector, case, case.hold_s + 16)

    assert of(alerts, case) == [(case.alert_id, "firing")]
    (alert,) = alerts
    assert alert.evidence, "an alert names what raised it"
    assert alert.labels["alertname"] == case.alert_id
    assert alert.annotations["summary"].startswith(alert.name)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_recovery_resolves_the_alert_it_fired(case: Case) -> None:
    detector = Detector()
    (fired,) = troubled_for(detector, case, case.hold_s + 16)

    alerts = recovered_for(detector, case, case.resolve_s + 16)

    assert of(alerts, case) == [(case.alert_id, "resolved")]
    assert alerts[0].fingerprint == fired.fingerprint
    assert alerts[0].starts_at == fired.starts_at
    assert detector.firing() == {}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_trouble_that_comes_and_goes_does_not_flap(case: Case) -> None:
    detector = Detector()
    troubled_for(detector, case, case.hold_s + 16)
    easing = case.hover or case.recovery

    alerts: list[Alert] = []
    for _ in range(24):  # four minutes of trouble reported and eased every 5 s
        alerts += easing(detector) + detector.advance(5) + case.trouble(detector) + detector.advance(5)
    settled = len(alerts)
    for _ in range(12):
        alerts += easing(detector) + detector.advance(5) + case.trouble(detector) + detector.advance(5)

    assert len(of(alerts, case)) <= 2, of(alerts, case)  # at most one resolution and its re-fire
    assert alerts[settled:] == [], "then quiet, whichever way it settled"
