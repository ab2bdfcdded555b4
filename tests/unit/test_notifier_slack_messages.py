"""How an incident lives in Slack: the first notification posts the root, everything after is a thread
reply, and the root's status line changes in place when the incident's state does.
"""

from __future__ import annotations

from services.notifier.channels.slack_messages import RootMessage, plan, root_from
from services.notifier.render import for_incident, for_remediation
from tests.support.samples import incident, remediation

CHANNEL = "#healer"


def posted(state: str = "opened") -> RootMessage:
    return root_from(for_incident(incident(state=state)), "C0HEALER1", "1767603600.000100")


def test_the_first_notification_of_an_incident_posts_its_root_message() -> None:
    (op,) = plan(for_incident(incident()), None, CHANNEL)

    assert op.kind == "post_root"
    assert op.text == f":red_circle: [OPEN] {incident().title}"
    assert op.blocks[0]["text"]["text"].startswith(f"*:red_circle: [OPEN] {incident().title}*")
    assert "incident `inc-1`" in op.blocks[1]["elements"][0]["text"]


def test_a_remediation_step_is_a_thread_reply_and_leaves_the_root_alone() -> None:
    ops = plan(for_remediation(remediation("running")), posted(), CHANNEL)

    assert [op.kind for op in ops] == ["reply"]
    assert ops[0].text.startswith("Remediation restart-pod on pod cto/rex-1 is running")


def test_a_successful_remediation_marks_the_root_remediated_before_replying() -> None:
    ops = plan(for_remediation(remediation("succeeded")), posted(), CHANNEL)

    assert [op.kind for op in ops] == ["update_root", "reply"], "the repeatable update first, the reply last"
    assert ops[0].text.startswith(":large_green_circle: [REMEDIATED] ")


def test_an_approval_request_marks_the_root_waiting_and_the_reply_says_how_to_answer() -> None:
    ops = plan(for_remediation(remediation("awaiting_approval")), posted(), CHANNEL)

    assert ops[0].text.startswith(":raised_hand: [WAITING FOR APPROVAL] ")
    assert "`healer approve rem-1`" in ops[1].text
    assert "`healer deny rem-1`" in ops[1].text


def test_resolution_updates_the_root_in_place_and_replies_in_the_thread() -> None:
    ops = plan(for_incident(incident(state="resolved", revision=3)), posted(), CHANNEL)

    assert [op.kind for op in ops] == ["update_root", "reply"]
    assert ops[0].text == f":white_check_mark: [RESOLVED] {incident().title}"
    assert ops[0].root is not None
    assert ops[0].root.ts == "1767603600.000100"


def test_an_update_that_changes_nothing_on_the_root_only_replies() -> None:
    ops = plan(for_incident(incident(state="updated", revision=2)), posted(), CHANNEL)

    assert [op.kind for op in ops] == ["reply"]
