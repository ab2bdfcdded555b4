"""Conditions into alerts (held_conditions.py): what fires at once and what must hold, what a recovery
resolves, how a flapping alert is held steady, and the rule details an on-call engineer relies on.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.events import ResourceRef
from healer_common.settings.detector import DetectorSettings
from services.detector.held_conditions import ConditionCatalogue, object_key, on_condition
from services.detector.rule_config import RuleBook
from services.detector.rules import CONDITION_RULES
from tests.support.detector_harness import Detector, condition_event
from tests.support.samples import T0, pod

APP = ResourceRef(kind="Application", namespace="argocd", name="payments")
CODERUN = ResourceRef(kind="CodeRun", namespace="cto", name="run-7")


def test_an_oomkilled_container_fires_h8_for_its_pod_at_once_with_its_topology() -> None:
    detector = Detector()
    labels = {"node": "node-a", "deployment": "rex", "application": "agents"}

    (alert,) = detector.condition("OOMKilled", pod(container="rex"), labels)

    assert (alert.alert_id, alert.status, alert.severity) == ("H8", "firing", "critical")
    assert alert.resource == pod(container="rex")
    assert alert.starts_at == T0
    assert alert.labels == {
        "alertname": "MemoryPressure",
        "alert_id": "H8",
        "severity": "critical",
        "cluster": "default",
        "namespace": "cto",
        "pod": "rex-1",
        "container": "rex",
        "reason": "OOMKilled",
        "node": "node-a",
        "deployment": "rex",
        "application": "agents",
    }
    assert alert.annotations["summary"] == "memory pressure: pod cto/rex-1 reported OOMKilled"
    assert alert.evidence[0].summary == "OOMKilled"
    assert alert.correlation_id == alert.fingerprint


def test_a_repeat_while_firing_is_not_a_new_alert() -> None:
    detector = Detector()
    detector.condition("OOMKilled", pod())

    assert detector.condition("OOMKilled", pod()) == []


def test_recovery_resolves_every_firing_alert_of_the_object_and_no_other() -> None:
    detector = Detector()
    oom = detector.condition("OOMKilled", pod(container="rex"))[0]
    crash = detector.condition("Failed", pod())[0]
    other = detector.condition("OOMKilled", pod("rex-2"))[0]
    detector.clock.advance(120)

    resolved = detector.condition("Ready", pod())

    assert {(a.fingerprint, a.status) for a in resolved} == {
        (oom.fingerprint, "resolved"),
        (crash.fingerprint, "resolved"),
    }
    assert all(a.ends_at == T0 + dt.timedelta(seconds=120) for a in resolved)
    assert list(detector.firing()) == [other.fingerprint]


def test_the_same_event_redelivered_yields_the_same_alert_ids() -> None:
    settings = DetectorSettings()
    catalogue, cfg = ConditionCatalogue.build(CONDITION_RULES, settings), RuleBook(settings).scope("default", "cto")
    event = condition_event("OOMKilled", pod(), labels=None, when=T0)

    first = on_condition(event, [], catalogue, cfg, T0).alerts
    again = on_condition(event, [], catalogue, cfg, T0 + dt.timedelta(seconds=3)).alerts

    assert [a.event_id for a in first] == [a.event_id for a in again]


def test_an_alert_that_flaps_stays_firing_until_its_recovery_holds() -> None:
    detector = Detector()
    detector.condition("OOMKilled", pod())
    detector.clock.advance(10)
    detector.condition("Ready", pod())  # first recovery: resolved at once
    detector.clock.advance(10)
    (refired,) = detector.condition("OOMKilled", pod())  # back within the flap window: flapping

    quiet = detector.condition("Ready", pod()) + detector.advance(30) + detector.condition("OOMKilled", pod())
    quiet += detector.condition("Ready", pod()) + detector.advance(59)
    resolved = detector.advance(2)

    assert refired.status == "firing"
    assert quiet == []
    assert [(a.status, a.fingerprint) for a in resolved] == [("resolved", refired.fingerprint)]


def test_an_application_out_of_sync_since_long_ago_fires_without_waiting_again() -> None:
    detector = Detector()
    since = (T0 - dt.timedelta(minutes=30)).isoformat()

    (alert,) = detector.condition("OutOfSync", APP, {"since": since})

    assert alert.alert_id == "H1"
    assert alert.annotations["summary"] == "ArgoCD sync drift: application argocd/payments OutOfSync for 30 minutes"


def test_a_remediation_coderun_is_never_reported_stuck() -> None:
    detector = Detector()
    detector.condition("CodeRunRunning", CODERUN, {"run_type": "remediate"})
    detector.condition("CodeRunPending", CODERUN.model_copy(update={"name": "run-8"}), {"remediation": "true"})

    assert detector.advance(3_600, step_s=60) == []


def test_a_crash_loop_escalates_to_critical_once_restarts_exceed_three() -> None:
    detector = Detector()

    (warning,) = detector.condition("CrashLoopBackOff", pod(), {"restarts": "2"})
    quiet = detector.condition("CrashLoopBackOff", pod(), {"restarts": "3"})
    (critical,) = detector.condition("CrashLoopBackOff", pod(), {"restarts": "5"})

    assert (warning.alert_id, warning.severity) == ("A7", "warning")
    assert quiet == []
    assert (critical.status, critical.severity, critical.fingerprint) == ("firing", "critical", warning.fingerprint)
    assert critical.labels["severity"] == "critical"


def test_each_agent_step_has_its_own_time_limit() -> None:
    limits = {}
    for agent in ("5DLabs-Rex", "5DLabs-Cleo", "5DLabs-Tess", "5DLabs-Cipher", "5DLabs-Atlas", "5DLabs-Morgan"):
        detector = Detector()
        detector.condition("PodRunning", pod(agent.lower()), {"agent": agent, "since": T0.isoformat()})
        alerts = detector.advance(61 * 60, step_s=60)
        limits[agent] = (alerts[0].starts_at - T0).total_seconds() / 60

    assert limits == {
        "5DLabs-Rex": 45,
        "5DLabs-Cleo": 15,
        "5DLabs-Tess": 30,
        "5DLabs-Cipher": 15,
        "5DLabs-Atlas": 20,
        "5DLabs-Morgan": 60,
    }


def test_a_pod_without_an_agent_label_is_no_workflow_step() -> None:
    detector = Detector()
    detector.condition("PodRunning", pod(), {"since": T0.isoformat()})

    assert detector.advance(3 * 3_600, step_s=300) == []


def test_an_agent_pod_becoming_ready_does_not_end_its_step_clock() -> None:
    detector = Detector()
    detector.condition("PodRunning", pod(), {"agent": "5DLabs-Cleo"})
    detector.advance(60)
    detector.condition("Ready", pod())

    alerts = detector.advance(15 * 60, step_s=30)

    assert [(a.alert_id, a.status) for a in alerts] == [("A8", "firing")]


def test_a_silent_agent_failure_waits_as_long_as_its_method_says() -> None:
    detector = Detector()
    detector.condition("ContainerNotReady", pod(), {"method": "terminated_non_zero"})

    early = detector.advance(50)
    late = detector.advance(15)

    assert early == []
    assert [(a.alert_id, a.labels["method"]) for a in late] == [("A2", "terminated_non_zero")]


def test_a_reason_of_your_own_fires_its_configured_alert_at_once() -> None:
    detector = Detector(DetectorSettings(condition_alerts={"PaymentsDown": "H6"}))

    (alert,) = detector.condition("PaymentsDown", pod())

    assert alert.alert_id == "H6"
    assert detector.condition("Ready", pod())[0].status == "resolved"


def test_a_reason_with_no_rule_yields_nothing() -> None:
    assert Detector().condition("Scheduled", pod()) == []


def test_overrides_change_a_hold_for_one_cluster_and_namespace_only() -> None:
    settings = DetectorSettings(overrides={"prod/argocd": {"h1": {"out_of_sync_for_s": 900}}})
    detector = Detector(settings)
    detector.condition("OutOfSync", APP, cluster="prod")
    detector.condition("OutOfSync", APP, cluster="staging")

    alerts = detector.advance(600, step_s=10)

    assert [a.cluster for a in alerts] == ["staging"]


def test_the_fingerprint_differs_per_pod_reason_namespace_and_cluster_but_not_container() -> None:
    fingerprints = set()
    for resource, reason, cluster in (
        (pod(container="a"), "OOMKilled", "default"),
        (pod(container="b"), "OOMKilled", "default"),
        (pod("rex-2"), "OOMKilled", "default"),
        (pod(namespace="play"), "OOMKilled", "default"),
        (pod(), "Failed", "default"),
        (pod(), "OOMKilled", "prod"),
    ):
        fingerprints.add(Detector().condition(reason, resource, cluster=cluster)[0].fingerprint)

    assert len(fingerprints) == 5


def test_object_key_names_the_object_and_ignores_the_container() -> None:
    assert object_key("prod", pod(container="rex")) == object_key("prod", pod()) == "prod/Pod/cto/rex-1"
    assert object_key("prod", ResourceRef(kind="Node", name="n1")) == "prod/Node/-/n1"


def test_a_pod_gone_while_in_trouble_resolves_its_alerts() -> None:
    detector = Detector()
    oom = detector.condition("OOMKilled", pod(container="rex"))[0]

    resolved = detector.condition("PodDeleted", pod())

    assert [(a.fingerprint, a.status) for a in resolved] == [(oom.fingerprint, "resolved")]
    assert list(detector.firing()) == []
