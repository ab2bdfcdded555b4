"""What a person reads: notifications rendered from incidents and remediations, with ids that make a
redelivery send nothing twice.
"""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.contract.remediations import REMEDIATION_STATES, RemediationState
from services.notifier.render import for_incident, for_remediation
from tests.support.samples import T0, alert, incident, pod, remediation


@pytest.mark.parametrize(
    ("state", "kind"),
    [("opened", "incident_opened"), ("updated", "incident_updated"), ("resolved", "incident_resolved")],
)
def test_each_incident_state_renders_its_own_kind(state: str, kind: str) -> None:
    notification = for_incident(incident(state=state))

    assert notification.kind == kind
    assert notification.title.startswith(f"[{state.upper()}] ")


def test_an_open_incident_says_what_fires_and_the_likely_cause() -> None:
    held = incident(alert("H8", resource=pod("rex-1")), alert("H4", severity="warning", resource=pod("rex-2")))
    held = held.evolve(causes=[{"kind": "time-order", "description": "earliest alert: H8 on rex-1", "score": 0.5}])

    notification = for_incident(held)

    assert notification.text == "2 firing alert(s): H4, H8. Likely cause: earliest alert: H8 on rex-1."
    assert notification.title == f"[OPENED] {held.title}"
    assert (notification.severity, notification.cluster, notification.namespace) == ("critical", "default", "cto")
    assert notification.fields == {"incident": "inc-1", "revision": "1", "cluster": "default"}
    assert notification.correlation_id == notification.incident_id == "inc-1"
    assert notification.time == held.time


def test_an_incident_without_a_ranked_cause_says_unknown() -> None:
    assert for_incident(incident()).text.endswith("Likely cause: unknown.")


def test_a_resolved_incident_says_how_many_alerts_it_had() -> None:
    assert for_incident(incident(state="resolved", revision=3)).text == "Resolved after 1 alert(s)."


@pytest.mark.parametrize(("seconds", "said"), [(42.4, "recovered in 42s"), (312, "recovered in 5m12s")])
def test_the_closing_note_says_the_time_to_recovery(seconds: float, said: str) -> None:
    opened = incident(state="resolved", revision=3)
    closed = opened.evolve(resolved_at=opened.opened_at + dt.timedelta(seconds=seconds))
    assert for_incident(closed).text == f"Resolved after 1 alert(s), {said}."


def test_the_same_incident_revision_renders_the_same_notification_id() -> None:
    assert for_incident(incident(revision=2)).notification_id == for_incident(incident(revision=2)).notification_id


def test_each_incident_revision_is_a_new_notification() -> None:
    assert for_incident(incident(revision=1)).notification_id != for_incident(incident(revision=2)).notification_id


def test_remediation_ids_are_stable_per_state_and_differ_between_states() -> None:
    ids = {state: for_remediation(remediation(state)).notification_id for state in REMEDIATION_STATES}

    assert for_remediation(remediation("acted")).notification_id == ids["acted"]
    assert len(set(ids.values())) == len(REMEDIATION_STATES)


def test_remediation_and_incident_notifications_never_share_an_id() -> None:
    assert for_incident(incident()).notification_id != for_remediation(remediation("planned")).notification_id


def test_a_finished_remediation_names_the_playbook_target_and_outcome() -> None:
    notification = for_remediation(remediation("succeeded"))

    assert notification.kind == "remediation"
    assert notification.title == "Remediation restart-pod on pod cto/rex-1 succeeded"
    assert notification.text == "deleted pod cto/rex-1; its controller starts a fresh one"
    assert (notification.incident_id, notification.remediation_id) == ("inc-1", "rem-1")
    assert notification.namespace == "cto"
    assert notification.fields == {"remediation": "rem-1", "state": "succeeded", "incident": "inc-1"}


def test_a_dry_run_says_so_in_the_title() -> None:
    notification = for_remediation(remediation("acted", dry_run=True))

    assert notification.title == "Remediation restart-pod on pod cto/rex-1 acted (dry run)"


def test_a_real_run_does_not_claim_to_be_a_dry_run() -> None:
    assert "dry run" not in for_remediation(remediation("acted")).title


def test_a_remediation_waiting_for_approval_is_an_approval_request() -> None:
    notification = for_remediation(remediation("awaiting_approval"))

    assert notification.kind == "approval_request"
    assert notification.title.endswith("is waiting for approval")
    assert notification.severity == "warning"


@pytest.mark.parametrize("state", ["failed", "rolled_back"])
def test_a_remediation_that_went_wrong_is_a_warning(state: RemediationState) -> None:
    assert for_remediation(remediation(state)).severity == "warning"


@pytest.mark.parametrize("state", ["planned", "acted", "succeeded", "skipped"])
def test_a_remediation_that_went_as_planned_is_information(state: RemediationState) -> None:
    assert for_remediation(remediation(state)).severity == "info"


def test_a_remediation_without_steps_explains_itself_with_its_reason() -> None:
    skipped = remediation("skipped").evolve(steps=[], reason="refused: pod cto/rex-1 is labelled exclude=true")

    assert for_remediation(skipped).text == "refused: pod cto/rex-1 is labelled exclude=true"


def test_a_notification_is_dated_by_its_source_message() -> None:
    assert for_remediation(remediation()).time == T0


def test_each_revision_of_a_run_is_told_even_in_the_same_state() -> None:
    restarted = remediation("acted")
    scaled = restarted.evolve(revision=restarted.revision + 1)

    assert for_remediation(restarted).notification_id != for_remediation(scaled).notification_id
