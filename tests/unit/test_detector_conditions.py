"""Conditions into alerts: an OOMKilled pod fires H8 at once, a repeat is not a new alert, and the pod's
recovery resolves everything its earlier conditions raised.
"""

from __future__ import annotations

import datetime as dt

from healer_common.alerts import Alert
from healer_common.events import ResourceRef
from healer_common.settings import DetectorSettings
from services.detector.conditions import ConditionRules, evaluate_condition, object_key
from tests.unit.samples import T0, condition, pod

DEFAULTS = DetectorSettings()
RULES = ConditionRules(
    alert_for_reason=DEFAULTS.condition_alerts, recovery_reasons=frozenset(DEFAULTS.recovery_reasons)
)
NOW = T0 + dt.timedelta(seconds=2)


def fire(
    reason: str,
    *,
    resource: ResourceRef | None = None,
    event_id: str = "evt-1",
    time: dt.datetime | None = T0,
    cluster: str = "default",
) -> Alert:
    """The one alert a condition on an object with no active alerts fires."""
    event = condition(reason, resource=resource, event_id=event_id, time=time, cluster=cluster)
    (alert,) = evaluate_condition(event, RULES, [], NOW)
    return alert


def test_an_oomkilled_container_fires_h8_for_its_pod() -> None:
    event = condition("OOMKilled", resource=pod(container="rex"), message="limit 512Mi", event_id="e-oom")

    (alert,) = evaluate_condition(event, RULES, [], NOW)

    assert (alert.alert_id, alert.status, alert.severity) == ("H8", "firing", "critical")
    assert alert.resource == pod(container="rex")
    assert (alert.cluster, alert.namespace) == ("default", "cto")
    assert alert.starts_at == T0  # when it was seen, not when it was evaluated
    assert alert.time == NOW
    assert alert.ends_at is None
    assert alert.labels == {
        "alertname": "H8",
        "severity": "critical",
        "cluster": "default",
        "namespace": "cto",
        "pod": "rex-1",
        "container": "rex",
        "reason": "OOMKilled",
    }
    assert alert.annotations == {
        "summary": "memory pressure: pod cto/rex-1 reported OOMKilled",
        "description": "limit 512Mi",
    }
    (evidence,) = alert.evidence
    assert (evidence.kind, evidence.summary, evidence.ref, evidence.time) == (
        "event",
        "OOMKilled: limit 512Mi",
        "e-oom",
        T0,
    )
    assert alert.correlation_id == alert.fingerprint


def test_a_condition_without_a_time_is_dated_now() -> None:
    alert = fire("OOMKilled", time=None)

    assert alert.starts_at == NOW


def test_a_condition_without_a_message_is_described_by_the_catalogue() -> None:
    alert = fire("ImagePullBackOff")

    assert alert.alert_id == "H4"
    assert alert.annotations["description"] == "repeated ImagePullBackOff / ErrImagePull"
    assert alert.evidence[0].summary == "ImagePullBackOff"


def test_the_same_condition_redelivered_fires_the_same_alert_id() -> None:
    assert fire("OOMKilled").event_id == fire("OOMKilled").event_id


def test_a_repeat_while_firing_yields_nothing() -> None:
    firing = fire("OOMKilled", event_id="e-1")

    again = evaluate_condition(condition("OOMKilled", event_id="e-2"), RULES, [firing], NOW)

    assert again == []


def test_a_repeat_after_resolution_fires_again() -> None:
    resolved = fire("OOMKilled", event_id="e-1").evolve(status="resolved", ends_at=NOW)

    (again,) = evaluate_condition(condition("OOMKilled", event_id="e-3"), RULES, [resolved], NOW)

    assert again.status == "firing"
    assert again.fingerprint == resolved.fingerprint


def test_recovery_resolves_every_firing_alert_of_the_object() -> None:
    oom = fire("OOMKilled", event_id="e-1")
    pull = fire("ImagePullBackOff", event_id="e-2")
    old = fire("CrashLoopBackOff", event_id="e-3").evolve(status="resolved", ends_at=T0)
    ready_at = T0 + dt.timedelta(minutes=2)

    resolved = evaluate_condition(condition("Ready", event_id="e-ready", time=ready_at), RULES, [oom, pull, old], NOW)

    assert [(a.alert_id, a.status, a.ends_at) for a in resolved] == [
        ("H8", "resolved", ready_at),
        ("H4", "resolved", ready_at),
    ]
    assert [a.fingerprint for a in resolved] == [oom.fingerprint, pull.fingerprint]
    assert resolved[0].starts_at == oom.starts_at
    assert resolved[0].evidence[-1].ref == "e-ready"
    assert resolved[0].event_id != oom.event_id


def test_recovery_with_nothing_firing_yields_nothing() -> None:
    assert evaluate_condition(condition("Ready"), RULES, [], NOW) == []


def test_a_reason_with_no_rule_yields_nothing() -> None:
    assert evaluate_condition(condition("Scheduled"), RULES, [], NOW) == []


def test_a_configured_reason_fires_its_configured_alert() -> None:
    rules = ConditionRules(alert_for_reason={"Evicted": "H2"}, recovery_reasons=frozenset({"Ready"}))

    (alert,) = evaluate_condition(condition("Evicted"), rules, [], NOW)

    assert alert.alert_id == "H2"
    assert evaluate_condition(condition("OOMKilled"), rules, [], NOW) == []


def test_the_fingerprint_is_stable_across_events_and_containers() -> None:
    first = fire("OOMKilled", event_id="e-1", resource=pod(container="rex"))
    later = fire("OOMKilled", event_id="e-9", resource=pod(container="sidecar"), time=T0 + dt.timedelta(hours=1))

    assert first.fingerprint == later.fingerprint


def test_the_fingerprint_differs_per_pod_reason_namespace_and_cluster() -> None:
    fingerprints = {
        fire("OOMKilled").fingerprint,
        fire("OOMKilled", resource=pod("rex-2")).fingerprint,
        fire("OOMKilled", resource=pod(namespace="play")).fingerprint,
        fire("MemoryPressure").fingerprint,
        fire("OOMKilled", cluster="prod").fingerprint,
    }

    assert len(fingerprints) == 5


def test_object_key_names_the_object_and_ignores_the_container() -> None:
    assert object_key("prod", pod(container="rex")) == object_key("prod", pod()) == "prod/Pod/cto/rex-1"
    assert object_key("prod", pod(container="rex")) != object_key("prod", pod("rex-2"))


def test_object_key_of_a_cluster_scoped_object_has_a_placeholder_namespace() -> None:
    node = ResourceRef(kind="Node", name="n1")

    assert object_key("prod", node) == "prod/Node/-/n1"
