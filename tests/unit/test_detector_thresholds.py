"""Metric rules (thresholds.py over lanes.py): held breaches, hysteresis, growth, escalation, silence, and
batches that carry a series more than once, as the detector sees them from the collector's batches.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from healer_common.contract.events import ResourceRef
from healer_common.settings.detector import DetectorSettings
from services.detector.lanes import Lanes
from services.detector.rules.model import Limits
from tests.support.detector_harness import Detector

QUEUE = {"namespace": "cto", "queue": "builds"}
CERT = {"namespace": "cto", "certificate": "api-tls"}
DAY = 86_400.0


def test_a_metric_alert_copies_the_series_topology_and_names_its_values() -> None:
    detector = Detector()
    labels = {"namespace": "cto", "pod": "rex-1", "container": "rex", "node": "node-a", "deployment": "rex"}
    for value in (0.91, 0.93, 0.95, 0.97, 0.99):
        detector.metric("container_memory_usage_ratio", value, labels)
        detector.advance(15)

    (alert,) = detector.published

    assert alert.alert_id == "H8"
    assert alert.resource is not None
    assert (str(alert.resource), alert.resource.container) == ("pod cto/rex-1", "rex")
    topology = {k: alert.labels[k] for k in ("node", "deployment", "metric")}
    assert topology == {"node": "node-a", "deployment": "rex", "metric": "container_memory_usage_ratio"}
    (evidence,) = alert.evidence
    assert evidence.kind == "series"
    assert evidence.values == [0.91, 0.93, 0.95, 0.97]  # held 60 s at the fourth sample: the timer fired it
    assert "container_memory_usage_ratio{" in evidence.summary


def test_a_queue_that_keeps_growing_fires_before_it_reaches_its_threshold() -> None:
    detector = Detector()
    alerts = []
    for minute in range(8):
        alerts += detector.metric("queue_depth", 100 + 40 * minute, QUEUE) + detector.advance(60)

    (growing,) = alerts
    assert growing.alert_id == "H7"
    assert "grew by" in growing.annotations["summary"]


def test_a_queue_that_stopped_growing_resolves_its_growth_alert() -> None:
    detector = Detector()
    for minute in range(8):
        detector.metric("queue_depth", 100 + 40 * minute, QUEUE)
        detector.advance(60)

    alerts = []
    for _ in range(4):
        alerts += detector.metric("queue_depth", 200, QUEUE) + detector.advance(30)

    assert [(a.alert_id, a.status) for a in alerts] == [("H7", "resolved")]


def test_a_busy_but_steady_queue_does_not_count_as_growing() -> None:
    detector = Detector()
    for minute in range(30):
        detector.metric("queue_depth", 400 + (37 * minute) % 60, QUEUE)  # up and down, never trending
        detector.advance(60)

    assert detector.published == []


def test_a_certificate_becomes_critical_as_expiry_nears_and_renewal_resolves_it() -> None:
    detector = Detector()

    (warning,) = detector.metric("certificate_expiry_seconds", 10 * DAY, CERT)
    (critical,) = detector.metric("certificate_expiry_seconds", 2 * DAY, CERT)
    (resolved,) = detector.metric("certificate_expiry_seconds", 90 * DAY, CERT)

    assert (warning.severity, critical.severity, resolved.status) == ("warning", "critical", "resolved")
    assert warning.fingerprint == critical.fingerprint == resolved.fingerprint


def test_a_series_that_stops_reporting_has_its_alert_resolved() -> None:
    detector = Detector()
    detector.metric("certificate_expiry_seconds", 5 * DAY, CERT)

    alerts = detector.advance(DetectorSettings().stale_after_s + 5, step_s=5)

    assert [(a.alert_id, a.status) for a in alerts] == [("H3", "resolved")]


def test_a_breach_held_without_new_samples_fires_on_the_timer() -> None:
    detector = Detector()
    detector.metric("pvc_usage_ratio", 0.95, {"namespace": "cto", "persistentvolumeclaim": "data"})

    alerts = detector.advance(61)

    assert [(a.alert_id, a.status) for a in alerts] == [("H2", "firing")]


def test_a_breach_whose_series_ended_does_not_fire_on_the_timer() -> None:
    """A pod restarted by deletion while its memory was high: its series ends; no alert 60 s later."""
    detector = Detector()
    memory = {"namespace": "cto", "pod": "rex-worker-849626p577-znp7c", "container": "rex"}
    detector.metric("container_memory_usage_ratio", 0.95, memory)
    detector.advance(10)
    detector.metric("container_memory_usage_ratio", 0.97, memory)

    alerts = detector.advance(61)

    assert alerts == []


def test_a_deleted_pods_single_breached_sample_fires_nothing_after_it_is_gone() -> None:
    """A fresh pod read once at 0.95, OOM-killed and deleted before its next reading: one sample gives no cadence
    to tell its series ended, so only the collector's PodDeleted can drop the pending breach."""
    detector = Detector()
    memory = {"namespace": "cto", "pod": "rex-worker-849626p577-znp7c", "container": "rex"}
    detector.metric("container_memory_usage_ratio", 0.95, memory)
    detector.condition("PodDeleted", ResourceRef(kind="Pod", namespace="cto", name="rex-worker-849626p577-znp7c"))

    alerts = detector.advance(90)

    assert [a for a in alerts if a.labels.get("metric") == "container_memory_usage_ratio"] == []


def test_a_pod_deleted_while_its_memory_alert_fires_resolves_it_at_once() -> None:
    detector = Detector()
    memory = {"namespace": "cto", "pod": "rex-worker-849626p577-znp7c", "container": "rex"}
    for _ in range(7):
        detector.metric("container_memory_usage_ratio", 0.95, memory)
        detector.advance(10.5)

    alerts = detector.condition("PodDeleted", ResourceRef(kind="Pod", namespace="cto", name=memory["pod"]))

    assert [(a.alert_id, a.status, a.labels.get("metric")) for a in alerts] == [
        ("H8", "resolved", "container_memory_usage_ratio")
    ]


def test_a_breach_whose_series_keeps_reporting_fires_on_the_timer_between_samples() -> None:
    detector = Detector()
    memory = {"namespace": "cto", "pod": "rex-worker-849626p577-znp7c", "container": "rex"}
    alerts = []
    for _ in range(6):
        detector.metric("container_memory_usage_ratio", 0.95, memory)
        alerts += detector.advance(10.5)

    assert [(a.alert_id, a.status) for a in alerts] == [("H8", "firing")]


def test_per_namespace_overrides_set_a_series_threshold() -> None:
    detector = Detector(DetectorSettings(overrides={"*/ci": {"h7": {"depth": 50_000}}}))
    for _ in range(6):
        detector.metrics([("queue_depth", 5_000, {"namespace": "ci", "queue": "q"}), ("queue_depth", 5_000, QUEUE)])
        detector.advance(15)

    assert [a.labels["namespace"] for a in detector.published] == ["cto"]


def test_a_batch_carrying_one_series_twice_applies_both_samples_in_time_order() -> None:
    lanes = Lanes(1.0, "threshold")
    lane = lanes.add(0, Limits(threshold=10, clear=5, for_s=0, resolve_for_s=0, severity="warning"))
    both = np.array([lane, lane])

    rounds = list(lanes.observe(both, np.array([20.0, 1.0]), np.array([2.0, 1.0])))

    assert len(rounds) == 2
    assert lanes.last_value[lane] == 20.0  # the later sample is the current value
    assert lanes.firing[lane] == False  # noqa: E712 - numpy bool; the engine sets firing, not the lanes


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0, allow_nan=False), min_size=1, max_size=120))
def test_no_usage_pattern_makes_an_alert_resolve_without_having_fired(values: list[float]) -> None:
    detector = Detector()
    for value in values:
        detector.metric("pvc_usage_ratio", value, {"namespace": "cto", "persistentvolumeclaim": "p"})
        detector.advance(10, step_s=10)

    statuses = [a.status for a in detector.published]
    assert all(a != b for a, b in itertools.pairwise(statuses)), statuses
    assert statuses[:1] in ([], ["firing"])
