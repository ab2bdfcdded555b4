"""Alertmanager webhooks into Healer alerts, so a team's existing Prometheus alerts flow through Healer."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from healer_common.contract.events import AlertmanagerWebhook, ResourceRef
from services.detector.alertmanager import alerts_from_webhook
from tests.support.samples import T0

NOW = T0 + dt.timedelta(seconds=5)


def webhook(*alerts: dict[str, Any], receiver: str = "healer") -> AlertmanagerWebhook:
    return AlertmanagerWebhook.model_validate(
        {"receiver": receiver, "status": alerts[0]["status"], "alerts": list(alerts)}
    )


def am_alert(
    labels: dict[str, str],
    *,
    status: str = "firing",
    ends_at: str = "0001-01-01T00:00:00Z",
    fingerprint: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "rex-1 is crash looping"},
        "startsAt": "2026-01-05T09:00:00Z",
        "endsAt": ends_at,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }
    if fingerprint is not None:
        body["fingerprint"] = fingerprint
    return body


CRASHLOOP = {"alertname": "KubePodCrashLooping", "namespace": "cto", "pod": "rex-1", "severity": "warning"}


def test_a_prometheus_alert_without_a_healer_id_becomes_an_external_alert() -> None:
    (alert,) = alerts_from_webhook(webhook(am_alert(CRASHLOOP)), NOW)

    assert alert.alert_id == "EXT"
    assert alert.labels["alertname"] == "KubePodCrashLooping"
    assert alert.generator == "alertmanager"
    assert alert.status == "firing"
    assert alert.starts_at == T0
    assert alert.ends_at is None
    assert alert.time == NOW
    assert alert.annotations == {"summary": "rex-1 is crash looping"}
    assert alert.evidence[0].summary == "Alertmanager healer: KubePodCrashLooping"
    assert alert.evidence[0].ref == "http://prometheus:9090/graph?g0.expr=up"


def test_a_healer_alert_id_label_publishes_the_alert_under_that_catalogue_id() -> None:
    (alert,) = alerts_from_webhook(webhook(am_alert({**CRASHLOOP, "healer_alert_id": "A7"})), NOW)

    assert alert.alert_id == "A7"


def test_a_healer_alert_id_not_in_the_catalogue_falls_back_to_external() -> None:
    (alert,) = alerts_from_webhook(webhook(am_alert({**CRASHLOOP, "healer_alert_id": "Z99"})), NOW)

    assert alert.alert_id == "EXT"


@pytest.mark.parametrize(
    ("label", "severity"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("error", "critical"),
        ("ERROR", "critical"),
        ("warning", "warning"),
        ("warn", "warning"),
        ("info", "info"),
        ("none", "info"),
    ],
)
def test_alertmanager_severities_map_onto_healers_three(label: str, severity: str) -> None:
    (alert,) = alerts_from_webhook(webhook(am_alert({**CRASHLOOP, "severity": label})), NOW)

    assert alert.severity == severity
    assert alert.labels["severity"] == severity


def test_an_unknown_or_missing_severity_takes_the_catalogue_severity() -> None:
    labels = {k: v for k, v in CRASHLOOP.items() if k != "severity"}
    hook = webhook(am_alert(labels), am_alert({**labels, "healer_alert_id": "H8", "severity": "sev2"}))

    external, memory = alerts_from_webhook(hook, NOW)

    assert external.severity == "warning"  # EXT in the catalogue
    assert memory.severity == "critical"  # H8 in the catalogue


def test_the_target_is_read_from_the_usual_kubernetes_labels() -> None:
    hook = webhook(
        am_alert({"alertname": "A", "namespace": "cto", "pod": "rex-1"}),
        am_alert({"alertname": "B", "node": "n1"}),
        am_alert({"alertname": "C", "namespace": "cto", "persistentvolumeclaim": "data-0"}),
        am_alert({"alertname": "D", "job": "blackbox"}),
    )

    resources = [a.resource for a in alerts_from_webhook(hook, NOW)]

    assert resources == [
        ResourceRef(kind="Pod", namespace="cto", name="rex-1"),
        ResourceRef(kind="Node", name="n1"),
        ResourceRef(kind="PersistentVolumeClaim", namespace="cto", name="data-0"),
        None,
    ]


def test_the_cluster_label_names_the_cluster_and_defaults_to_default() -> None:
    hook = webhook(am_alert(CRASHLOOP), am_alert({**CRASHLOOP, "cluster": "prod-eu"}))

    default, prod = alerts_from_webhook(hook, NOW)

    assert (default.cluster, default.labels["cluster"]) == ("default", "default")
    assert (prod.cluster, prod.labels["cluster"]) == ("prod-eu", "prod-eu")


def test_alertmanagers_own_fingerprint_is_kept() -> None:
    (alert,) = alerts_from_webhook(webhook(am_alert(CRASHLOOP, fingerprint="4e7a1b4c2d3f5a6b")), NOW)

    assert alert.fingerprint == "4e7a1b4c2d3f5a6b"
    assert alert.correlation_id == "4e7a1b4c2d3f5a6b"


def test_without_alertmanagers_fingerprint_one_is_derived_from_the_labels_stably() -> None:
    firing = alerts_from_webhook(webhook(am_alert(CRASHLOOP)), NOW)[0]
    resolved = alerts_from_webhook(
        webhook(am_alert(CRASHLOOP, status="resolved", ends_at="2026-01-05T09:10:00Z")), NOW + dt.timedelta(minutes=10)
    )[0]
    other_pod = alerts_from_webhook(webhook(am_alert({**CRASHLOOP, "pod": "rex-2"})), NOW)[0]

    assert firing.fingerprint == resolved.fingerprint
    assert firing.fingerprint != other_pod.fingerprint


def test_a_severity_change_alone_does_not_change_the_derived_fingerprint() -> None:
    warning = alerts_from_webhook(webhook(am_alert(CRASHLOOP)), NOW)[0]
    critical = alerts_from_webhook(webhook(am_alert({**CRASHLOOP, "severity": "critical"})), NOW)[0]

    assert warning.fingerprint == critical.fingerprint


def test_a_resolved_alert_carries_its_end_time() -> None:
    hook = webhook(am_alert(CRASHLOOP, status="resolved", ends_at="2026-01-05T09:10:00Z"))

    (alert,) = alerts_from_webhook(hook, NOW)

    assert alert.status == "resolved"
    assert alert.ends_at == T0 + dt.timedelta(minutes=10)


def test_a_firing_alert_has_no_end_even_when_alertmanager_sends_a_future_one() -> None:
    hook = webhook(am_alert(CRASHLOOP, ends_at="2026-01-05T09:04:00Z"))

    (alert,) = alerts_from_webhook(hook, NOW)

    assert alert.ends_at is None


def test_a_redelivered_webhook_produces_the_same_event_ids() -> None:
    hook = webhook(am_alert(CRASHLOOP), am_alert({**CRASHLOOP, "pod": "rex-2"}))

    first = [a.event_id for a in alerts_from_webhook(hook, NOW)]
    again = [a.event_id for a in alerts_from_webhook(hook, NOW + dt.timedelta(seconds=30))]

    assert first == again
    assert len(set(first)) == 2


@pytest.mark.parametrize(
    "labels",
    [
        {"alertname": "Long", "namespace": "cto", "pod": "p" * 300},
        {"alertname": "Long", "namespace": "n" * 100, "pod": "rex-1"},
        {"alertname": "Long", "cluster": "C" * 80, "deployment": "web"},
    ],
    ids=["pod name over 253", "namespace over 63", "cluster not a cluster name"],
)
def test_labels_that_cannot_name_a_kubernetes_object_still_make_an_alert(labels: dict[str, str]) -> None:
    """Alertmanager labels are free text; one too long for a Kubernetes name must not fail the conversion (it
    was retried as a transient failure, five times, then dead-lettered)."""
    (alert,) = alerts_from_webhook(webhook(am_alert(labels)), NOW)

    assert alert.alert_id == "EXT"
    assert alert.labels["alertname"] == "Long"
    assert alert.resource is None or len(alert.resource.name) <= 253
