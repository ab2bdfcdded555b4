"""The seed's three predictions, each ahead of the alert it foresees and labelled with its kind: resource
exhaustion within half an hour (disk, memory leaks, queues), capacity planning within 12 hours (requests
climbing towards what the nodes offer: a scale-up will be needed), dependency degradation within 3 days (an
upstream's latency creeping towards its limit). Each carries its confidence and predicted crossing.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.alerts import Alert
from tests.support.detector_harness import Detector


def fed(detector: Detector, name: str, labels: dict[str, str], values: list[float], every_s: float) -> list[Alert]:
    alerts: list[Alert] = []
    for value in values:
        alerts += detector.metric(name, value, labels) + detector.advance(every_s, step_s=every_s / 4)
    return alerts


def first_prediction(alerts: list[Alert], kind: str) -> Alert:
    return next(a for a in alerts if a.predicted and a.firing and a.labels["prediction"] == kind)


def test_a_leaking_containers_memory_is_predicted_to_hit_its_limit() -> None:
    pod = {"namespace": "cto", "pod": "rex-1", "container": "rex"}
    alerts = fed(Detector(), "container_memory_usage_ratio", pod, [0.5 + 0.006 * m for m in range(80)], 60.0)

    predicted = first_prediction(alerts, "exhaustion")
    real = next(a for a in alerts if a.firing and not a.predicted)
    assert predicted.alert_id == "H8"
    assert predicted.starts_at < real.starts_at
    assert 0.5 <= float(predicted.labels["confidence"]) <= 1.0


def test_requests_climbing_towards_the_nodes_allocatable_say_a_scale_up_will_be_needed_hours_ahead() -> None:
    node = {"node": "sandbox-node-1"}
    climbing = [0.5 + 0.006 * q for q in range(60)]  # a quarter-hour each: 90 % in 16 hours
    alerts = fed(Detector(), "node_cpu_request_ratio", node, climbing, 900.0)

    predicted = first_prediction(alerts, "capacity")
    crossing = dt.datetime.fromisoformat(predicted.labels["predicted_crossing"])
    assert predicted.alert_id == "H2"
    assert predicted.annotations["summary"].startswith("capacity planning: node sandbox-node-1 will need a scale-up")
    assert dt.timedelta(hours=1) < crossing - predicted.starts_at <= dt.timedelta(hours=12)


def test_an_upstreams_latency_creeping_up_over_days_is_predicted_to_cross_its_limit() -> None:
    probe = {"target": "https://api.github.com/rate_limit"}
    creeping = [1.0 + 0.008 * h for h in range(100)]  # an hour each: 2 s (h5.probe_latency_s) after 125 hours
    alerts = fed(Detector(), "probe_duration_seconds", probe, creeping, 3600.0)

    predicted = first_prediction(alerts, "degradation")
    crossing = dt.datetime.fromisoformat(predicted.labels["predicted_crossing"])
    assert predicted.alert_id == "H5"
    assert predicted.annotations["summary"].startswith("dependency degrading:")
    assert crossing - predicted.starts_at <= dt.timedelta(days=3)
    assert not [a for a in alerts if a.firing and not a.predicted], "the limit itself is not reached yet"
