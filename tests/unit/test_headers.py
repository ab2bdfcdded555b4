"""Headers: consumers filter on them without parsing, and one rule gives everything published its
`Nats-Msg-Id`, so a retried or redelivered publish is dropped by the stream's duplicate window."""

from __future__ import annotations

import datetime as dt

from healer_cli.demo import condition_event
from healer_common.contract.alerts import Alert
from healer_common.contract.events import EVENT_ADAPTER, AlertmanagerWebhook
from healer_common.contract.headers import event_headers, headers_for, msg_id
from healer_common.contract.memory import MemoryQuery
from healer_common.contract.subjects import SUBJECTS
from tests.support.samples import T0, alert, incident, remediation


def test_every_message_carries_its_event_id_as_the_nats_dedup_id() -> None:
    query = MemoryQuery(text="oom", event_id="q-1")

    assert headers_for(query) == {"Nats-Msg-Id": "q-1", "Healer-Schema": "MemoryQuery.v1"}


def test_alert_headers_let_subscribers_filter_without_parsing() -> None:
    firing = alert("H8").evolve(event_id="a-1", correlation_id="fp-1")

    headers = headers_for(firing)

    assert headers == {
        "Nats-Msg-Id": "a-1",
        "Healer-Schema": "Alert.v2",
        "Healer-Correlation-Id": "fp-1",
        "Healer-Alert-Id": "H8",
        "Healer-Status": "firing",
        "Healer-Severity": "critical",
        "Healer-Cluster": "default",
        "Healer-Namespace": "cto",
        "Healer-Target": "pod cto/rex-1",
        "Healer-Fingerprint": firing.fingerprint,
    }


def test_an_alert_about_no_namespace_sends_an_empty_namespace_header() -> None:
    node_alert = Alert(
        alert_id="H2", status="firing", severity="warning", fingerprint="0123456789abcdef", cluster="c", starts_at=T0
    )

    assert headers_for(node_alert)["Healer-Namespace"] == ""


def test_incident_and_remediation_headers_name_their_ids() -> None:
    assert headers_for(incident())["Healer-Incident-Id"] == "inc-1"
    assert headers_for(remediation())["Healer-Remediation-Id"] == "rem-1"
    assert headers_for(remediation())["Healer-Incident-Id"] == "inc-1"


def test_a_cloudevent_sent_again_has_the_same_id_whenever_it_is_sent() -> None:
    event = condition_event("cto/rex-1", "OOMKilled", source="watchdog")
    again = event.model_copy(update={"time": dt.datetime.now(dt.UTC)})
    subject = SUBJECTS.custom_events("watchdog")

    assert event_headers(SUBJECTS, subject, event) == event_headers(SUBJECTS, subject, again)
    assert event_headers(SUBJECTS, subject, event)["content-type"] == "application/cloudevents+json"


def test_events_are_told_apart_by_source_and_id_as_cloudevents_says() -> None:
    event = condition_event("cto/rex-1", "OOMKilled", source="watchdog")
    other_source = event.model_copy(update={"source": "another-watchdog"})
    other_id = event.model_copy(update={"id": "another-id"})

    ids = {msg_id("events", e) for e in (event, other_source, other_id)}
    assert len(ids) == 3


def test_a_change_forwarded_to_its_own_subject_is_not_taken_for_a_copy_of_itself() -> None:
    change = EVENT_ADAPTER.validate_python(
        {
            "specversion": "1.0",
            "id": "deploy-42",
            "source": "argocd",
            "type": "healer.change.v1",
            "data": {"what": "deploy", "resource": {"kind": "Deployment", "namespace": "cto", "name": "gateway"}},
        }
    )

    on_events = event_headers(SUBJECTS, SUBJECTS.custom_events("argocd"), change)["Nats-Msg-Id"]
    on_changes = event_headers(SUBJECTS, SUBJECTS.changes("default"), change)["Nats-Msg-Id"]
    assert on_events != on_changes, "events and changes share the HEALER_EVENTS stream and its duplicate window"


def test_an_alertmanager_webhook_sent_again_has_the_same_id_and_a_new_state_a_new_one() -> None:
    alert_json = {"status": "firing", "labels": {"alertname": "KubePodCrashLooping"}, "startsAt": T0.isoformat()}
    hook = AlertmanagerWebhook.model_validate({"receiver": "healer", "status": "firing", "alerts": [alert_json]})
    resolved = AlertmanagerWebhook.model_validate(
        {"receiver": "healer", "status": "resolved", "alerts": [{**alert_json, "status": "resolved"}]}
    )

    assert msg_id("events", hook) == msg_id("events", AlertmanagerWebhook.model_validate(hook.model_dump()))
    assert msg_id("events", hook) != msg_id("events", resolved)
