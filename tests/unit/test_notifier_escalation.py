"""Escalation along a policy's levels: each level at its delay after the first notification, nothing more once
someone acknowledged or the incident resolved, and a notification that says how to make it stop.
"""

from __future__ import annotations

import datetime as dt

from healer_common.settings.notifier import EscalationPolicy
from services.notifier.escalation import Decision, Escalation, after_firing, decide, level_notification
from services.notifier.render import for_incident
from tests.support.samples import T0, incident

POLICY = EscalationPolicy.model_validate(
    {"levels": [{"delay": 0, "channels": ["slack"]}, {"delay": "15m", "channels": ["pagerduty"]}]}
)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_level_one_fires_at_once_and_level_two_waits_for_its_delay() -> None:
    started = Escalation("inc-1", "page", T0)

    assert decide(POLICY, started, T0).action == "fire"
    after_one, due = after_firing(POLICY, started)
    assert due == at(900)
    assert decide(POLICY, after_one, at(899)) == Decision("wait", 2, at=at(900))
    assert decide(POLICY, after_one, at(900)).action == "fire"
    assert decide(POLICY, after_one, at(900)).level == 2


def test_after_the_last_level_there_is_nothing_left_to_fire() -> None:
    after_two, due = after_firing(POLICY, Escalation("inc-1", "page", T0, next_level=2))

    assert due is None
    assert decide(POLICY, after_two, at(10_000)).action == "done"


def test_an_acknowledged_escalation_never_fires_again() -> None:
    acked = Escalation("inc-1", "page", T0, next_level=2, stopped="acknowledged by jane via cli")

    decision = decide(POLICY, acked, at(10_000))

    assert (decision.action, decision.reason) == ("stopped", "acknowledged by jane via cli")


def test_an_escalation_whose_policy_was_removed_from_config_stops_and_says_why() -> None:
    decision = decide(None, Escalation("inc-1", "gone", T0), at(1))

    assert decision.action == "stopped"
    assert "policy 'gone' no longer exists" in decision.reason


def test_a_level_notification_says_how_long_nobody_answered_and_how_to_stop_it() -> None:
    base = for_incident(incident())

    note = level_notification(base, POLICY, 2, T0, at(960))

    assert note.kind == "escalation"
    assert note.title == f"[ESCALATED 2/2] {incident().title}"
    assert "unacknowledged for 16m" in note.text
    assert note.text.endswith("acknowledge with `healer ack inc-1`.")
    assert note.fields["escalation_level"] == "2"
    assert note.notification_id != base.notification_id
    assert note.notification_id == level_notification(base, POLICY, 2, T0, at(999)).notification_id, (
        "one id per incident and level: a redelivered level is not sent twice"
    )
