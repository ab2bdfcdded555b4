"""Nodes, rollouts, certificates, Services, CodeRuns and Events: what each kind of object makes the collector
report, and when it stays quiet."""

from __future__ import annotations

import datetime as dt

import pytest

from services.collector.sources import samples
from services.collector.sources.certificates import ExpiryTracker
from services.collector.sources.coderuns import CodeRunTracker
from services.collector.sources.endpoints import ServiceEndpoints
from services.collector.sources.kube_events import EventTracker
from services.collector.sources.nodes import NodeTracker, parse_quantity
from services.collector.sources.workloads import DeploymentTracker
from services.collector.topology import Topology

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def self_signed(not_after: dt.datetime) -> bytes:
    return samples.self_signed_certificate(not_after, "api.example.com")[0]


# nodes --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [("4", 4.0), ("3800m", 3.8), ("16Gi", 16 * 2**30), ("129936Ki", 129936 * 1024), ("1e3", 1000.0), ("2G", 2e9)],
)
def test_kubernetes_quantities_are_read_as_numbers(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_an_unreadable_quantity_is_no_number() -> None:
    assert parse_quantity("lots") is None
    assert parse_quantity("12Qi") is None


def test_a_node_under_pressure_reports_each_pressure_then_its_recovery() -> None:
    tracker = NodeTracker()

    pressed = tracker.observe(samples.node("node-1", pressures=("MemoryPressure", "DiskPressure")), NOW)
    healthy = tracker.observe(samples.node("node-1"), NOW)

    assert [o.condition.reason for o in pressed.conditions] == ["MemoryPressure", "DiskPressure", "NodeReady"]
    assert pressed.conditions[0].condition.labels == {"node": "node-1"}
    assert [o.condition.reason for o in healthy.conditions] == ["NodeHealthy"]


def test_a_node_whose_kubelet_went_quiet_is_told_apart_from_one_that_says_it_is_not_ready() -> None:
    quiet = NodeTracker().observe(samples.node("node-2", ready="Unknown"), NOW)
    not_ready = NodeTracker().observe(samples.node("node-3", ready="False"), NOW)

    assert [o.condition.reason for o in quiet.conditions] == ["KubeletStopped"]
    assert [o.condition.reason for o in not_ready.conditions] == ["NotReady"]


def test_a_cordoned_node_is_unschedulable_since_its_taint_and_ready_again_ends_only_its_not_ready() -> None:
    tracker = NodeTracker()
    down = tracker.observe(samples.node("node-4", ready="False", cordoned_at="2026-01-05T09:00:00Z"), NOW)
    back = tracker.observe(samples.node("node-4", cordoned_at="2026-01-05T09:00:00Z"), NOW)
    uncordoned = tracker.observe(samples.node("node-4"), NOW)

    assert [o.condition.reason for o in down.conditions] == ["Unschedulable", "NotReady"]
    assert down.conditions[0].condition.labels["since"] == "2026-01-05T09:00:00Z"
    assert [o.condition.reason for o in back.conditions] == ["NodeReady"]
    assert [o.condition.reason for o in uncordoned.conditions] == ["NodeHealthy"]


def test_a_node_without_its_network_says_so() -> None:
    found = NodeTracker().observe(samples.node("node-5", pressures=("NetworkUnavailable",)), NOW)

    assert [o.condition.reason for o in found.conditions] == ["NetworkUnavailable", "NodeReady"]


def test_a_node_offers_its_allocatable_capacity_at_each_resync() -> None:
    tracker = NodeTracker()
    tracker.observe(samples.node("node-1", cpu="3800m", memory="16Gi"), NOW)

    samples_by_name = {s.name: s for s in tracker.resync(NOW).samples}

    assert samples_by_name["node_allocatable_cpu_cores"].value == pytest.approx(3.8)
    assert samples_by_name["node_allocatable_memory_bytes"].value == 16 * 2**30
    assert samples_by_name["node_allocatable_cpu_cores"].labels == {"node": "node-1"}


# rollouts -----------------------------------------------------------------------------------------------------
def test_a_new_image_is_a_deploy_from_the_old_image_to_the_new() -> None:
    tracker = DeploymentTracker()

    first = tracker.observe(samples.deployment("api", image="example/api:1.4.2", revision=3), NOW)
    rolled = tracker.observe(samples.deployment("api", image="example/api:1.5.0", revision=4), NOW)

    assert not first, "the first sight of a Deployment is no change"
    assert [(c.data.what, c.data.from_, c.data.to) for c in rolled.changes] == [
        ("deploy", "example/api:1.4.2", "example/api:1.5.0")
    ]
    assert rolled.changes[0].data.resource.name == "api"


def test_a_new_revision_without_a_new_image_is_a_config_change_and_replicas_a_scale() -> None:
    tracker = DeploymentTracker()
    tracker.observe(samples.deployment("api", revision=3, replicas=2), NOW)

    changed = tracker.observe(samples.deployment("api", revision=4, replicas=5), NOW)

    assert [(c.data.what, c.data.from_, c.data.to) for c in changed.changes] == [("config", "3", "4"), ("scale", 2, 5)]


def test_a_deployment_seen_again_unchanged_is_no_change() -> None:
    tracker = DeploymentTracker()
    tracker.observe(samples.deployment("api"), NOW)

    assert not tracker.observe(samples.deployment("api"), NOW)


# certificates -------------------------------------------------------------------------------------------------
def test_a_tls_secret_reports_the_seconds_left_on_its_leaf_certificate() -> None:
    tracker = ExpiryTracker.for_secrets()
    expires = NOW + dt.timedelta(days=3)

    found = tracker.observe(samples.tls_secret("api-tls", self_signed(expires)), NOW)
    later = tracker.resync(NOW + dt.timedelta(hours=1))

    assert [(s.name, s.value, s.labels) for s in found.samples] == [
        ("certificate_expiry_seconds", 3 * 86_400, {"namespace": "cto", "secret": "api-tls"})
    ]
    assert later.samples[0].value == 3 * 86_400 - 3600


def test_a_secret_cert_manager_manages_is_left_to_its_certificate() -> None:
    secret = samples.tls_secret("api-tls", self_signed(NOW), **{"cert-manager.io/certificate-name": "api"})

    assert not ExpiryTracker.for_secrets().observe(secret, NOW)


def test_a_secret_with_garbage_for_a_certificate_is_skipped() -> None:
    assert not ExpiryTracker.for_secrets().observe(samples.tls_secret("bad", b"not a certificate"), NOW)


def test_a_cert_manager_certificate_reports_its_expiry_with_its_secret() -> None:
    found = ExpiryTracker.for_certificates().observe(samples.certificate("api", NOW + dt.timedelta(days=10)), NOW)

    assert found.samples[0].value == 10 * 86_400
    assert found.samples[0].labels == {"namespace": "cto", "certificate": "api", "secret": "api-tls"}


# services and endpoints ---------------------------------------------------------------------------------------
def test_a_service_that_selects_no_ready_pod_has_empty_endpoints_until_one_is_ready() -> None:
    state = ServiceEndpoints()
    services, endpoints = state.services_side(), state.endpoints_side()

    assert not endpoints.observe(samples.endpoints("api", ready=0, not_ready=2), NOW), "no Service seen yet"
    empty = services.observe(samples.service("api", selector={"app": "api"}), NOW)
    ready = endpoints.observe(samples.endpoints("api", ready=1), NOW)

    assert [o.condition.reason for o in empty.conditions] == ["EndpointsEmpty"]
    assert empty.conditions[0].condition.resource.kind == "Service"
    assert empty.conditions[0].condition.labels == {"namespace": "cto", "service": "api"}
    assert [o.condition.reason for o in ready.conditions] == ["EndpointsReady"]


def test_a_service_without_a_selector_manages_its_endpoints_by_hand_and_is_not_judged() -> None:
    state = ServiceEndpoints()
    state.endpoints_side().observe(samples.endpoints("external-db", ready=0), NOW)

    assert not state.services_side().observe(samples.service("external-db"), NOW)


# CodeRuns -----------------------------------------------------------------------------------------------------
def test_a_coderun_reports_its_phase_since_when_and_its_end() -> None:
    tracker = CodeRunTracker()

    pending = tracker.observe(samples.coderun("run-1", phase=None), NOW)
    running = tracker.observe(samples.coderun("run-1", phase="Running"), NOW + dt.timedelta(minutes=1))
    finished = tracker.observe(samples.coderun("run-1", phase="Failed"), NOW + dt.timedelta(minutes=9))

    assert [o.condition.reason for o in pending.conditions] == ["CodeRunPending"]
    assert pending.conditions[0].condition.labels["since"] == "2026-01-05T08:50:00Z"
    assert running.conditions[0].condition.labels["since"] == "2026-01-05T09:01:00Z"
    assert running.conditions[0].condition.labels["task-id"] == "42"
    assert [(o.condition.reason, o.condition.labels["phase"]) for o in finished.conditions] == [
        ("CodeRunFinished", "Failed")
    ]


# Events -------------------------------------------------------------------------------------------------------
def test_a_warning_event_becomes_a_log_line_about_its_object_once_per_count() -> None:
    tracker = EventTracker(Topology(), history_after_s=300)
    involved = {"kind": "Pod", "namespace": "cto", "name": "rex-1"}
    event = samples.warning_event("rex-1.17a", "FailedMount", "volume data not attached", involved, NOW)

    first = tracker.observe(event, NOW)
    replayed = tracker.observe(event, NOW)
    repeated = tracker.observe({**event, "count": 2}, NOW)

    assert [r.data.line for r in first.logs] == ["FailedMount: volume data not attached"]
    assert first.logs[0].data.level == "warning"
    assert first.logs[0].data.labels["pod"] == "rex-1"
    assert first.logs[0].data.labels["reason"] == "FailedMount"
    assert not replayed
    assert len(repeated.logs) == 1


def test_an_eviction_event_is_also_an_evicted_condition_on_the_pod() -> None:
    tracker = EventTracker(Topology(), history_after_s=300)
    involved = {"kind": "Pod", "namespace": "cto", "name": "rex-1"}

    found = tracker.observe(samples.warning_event("e1", "Evicted", "low on memory", involved, NOW), NOW)

    assert [(o.condition.reason, o.condition.resource.name) for o in found.conditions] == [("Evicted", "rex-1")]


def test_events_older_than_the_history_horizon_are_not_news_at_start() -> None:
    tracker = EventTracker(Topology(), history_after_s=300)
    involved = {"kind": "Pod", "namespace": "cto", "name": "rex-1"}
    old = samples.warning_event("e1", "BackOff", "back-off", involved, NOW - dt.timedelta(hours=1))

    assert not tracker.observe(old, NOW)
