"""Workflow failures as GitHub issues, in today's Healer's form, found again by fingerprint, and an open
issue of the same alert under 30 minutes old taking a comment rather than a twin.
"""

from __future__ import annotations

import datetime as dt

from healer_common.contract.notifications import Notification
from services.notifier.channels.github_issues import (
    OpenIssue,
    choose_issue,
    issue_body,
    issue_labels,
    issue_title,
    read_issue,
    workflow_alert,
)
from services.notifier.render import for_incident
from tests.support.samples import T0, alert, incident, pod

WINDOW = 1800.0


def failure(alert_id: str = "A7") -> Notification:
    return for_incident(incident(alert(alert_id, resource=pod("rex-1"))))


def test_a_workflow_failure_gets_the_title_and_labels_of_todays_healer() -> None:
    note = failure("A7")

    assert workflow_alert(note) == "A7"
    assert issue_title(note, "A7") == "[HEAL-A7] pod failure: rex-1"
    assert issue_labels("A7") == ["heal", "remediation", "a7"]


def test_platform_alerts_are_not_workflow_failures() -> None:
    assert workflow_alert(failure("H8")) is None


def test_the_issue_body_carries_the_fingerprint_it_is_found_again_by() -> None:
    note = failure()
    raw = {"number": 7, "body": issue_body(note), "created_at": "2026-01-05T08:00:00Z"}

    assert read_issue(raw) == OpenIssue(7, note.fingerprint, T0 - dt.timedelta(hours=1))


def test_the_same_failure_comes_back_to_its_own_issue_however_old() -> None:
    issues = [OpenIssue(3, "other", T0 - dt.timedelta(minutes=5)), OpenIssue(7, "fp-1", T0 - dt.timedelta(days=2))]

    assert choose_issue(issues, "fp-1", T0, WINDOW) == 7


def test_a_recent_open_issue_of_the_same_alert_takes_a_comment_instead_of_a_twin() -> None:
    issues = [OpenIssue(3, "other", T0 - dt.timedelta(minutes=29)), OpenIssue(4, "older", T0 - dt.timedelta(hours=2))]

    assert choose_issue(issues, "fp-1", T0, WINDOW) == 3
    assert choose_issue(issues, "fp-1", T0 + dt.timedelta(minutes=2), WINDOW) is None, "31 minutes old: a new issue"


def test_only_news_of_the_failure_opens_an_issue_a_lone_step_or_ack_does_not() -> None:
    from healer_common.contract.notifications import Notification  # noqa: PLC0415
    from services.notifier.channels.github_issues import opens_issue  # noqa: PLC0415

    def note(kind: str) -> Notification:
        return Notification(notification_id="n", kind=kind, incident_id="i", title="t", text="x")

    assert opens_issue(note("incident_opened"))
    assert opens_issue(note("incident_updated"))
    assert not opens_issue(note("remediation"))
    assert not opens_issue(note("incident_acknowledged"))
    assert not opens_issue(note("incident_resolved"))
