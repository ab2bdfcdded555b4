"""When a revision is worth telling people (Incident.notify): after group_wait for a new incident, at most
every group_interval for changes, every repeat_interval for an unchanged open incident, never while muted."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.incidents import Incident
from services.correlator.notify_timing import NotifyState, NotifyTiming, decide
from tests.support.correlator_samples import at, fold, pod_alert, resolved
from tests.support.samples import T0

TIMING = NotifyTiming(
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)
ONE, TWO = pod_alert("p1", node="n1"), pod_alert("p2", node="n1", starts_at=at(1))


def told(incident: Incident, when: dt.datetime) -> NotifyState:
    decision = decide(incident, NotifyState(opened_at=T0), TIMING, when)
    assert decision.notify
    return decision.state


def test_a_new_incident_is_told_only_when_group_wait_is_over() -> None:
    incident = fold(ONE)
    fresh = NotifyState(opened_at=T0)

    waiting = decide(incident, fresh, TIMING, T0 + dt.timedelta(seconds=10))
    over = decide(incident, fresh, TIMING, T0 + dt.timedelta(seconds=30))

    assert (waiting.notify, waiting.due) == (False, T0 + dt.timedelta(seconds=30))
    assert over.notify
    assert over.state.told_at == T0 + dt.timedelta(seconds=30)


def test_with_no_group_wait_a_new_incident_is_told_at_once() -> None:
    instant = NotifyTiming(dt.timedelta(0), TIMING.group_interval, TIMING.repeat_interval)

    assert decide(fold(ONE), NotifyState(opened_at=T0), instant, T0).notify


def test_a_change_is_told_once_group_interval_has_passed_since_the_last_telling() -> None:
    state = told(fold(ONE), at(1))
    changed = fold(ONE, TWO)

    soon = decide(changed, state, TIMING, at(2))
    later = decide(changed, state, TIMING, at(6))

    assert (soon.notify, soon.due) == (False, at(6))
    assert later.notify


def test_an_unchanged_open_incident_is_told_again_after_repeat_interval() -> None:
    incident = fold(ONE)
    state = told(incident, at(1))

    assert not decide(incident, state, TIMING, at(60)).notify
    assert decide(incident, state, TIMING, at(1 + 240)).notify


def test_an_incident_whose_firing_alerts_are_all_muted_is_never_told() -> None:
    incident = fold(ONE)
    muted = incident.model_copy(
        update={"alerts": [a.model_copy(update={"silenced_by": ["s1"]}) for a in incident.alerts]}
    )

    decision = decide(muted, NotifyState(opened_at=T0), TIMING, at(10))

    assert (decision.notify, decision.due) == (False, None)


def test_a_muted_alert_joining_is_no_change_worth_telling() -> None:
    state = told(fold(ONE), at(1))
    with_muted = fold(ONE, TWO)
    with_muted = with_muted.model_copy(
        update={
            "alerts": [
                a.model_copy(update={"inhibited_by": ["rule: x"]}) if a.fingerprint == TWO.fingerprint else a
                for a in with_muted.alerts
            ]
        }
    )

    decision = decide(with_muted, state, TIMING, at(7))

    assert not decision.notify
    assert decision.due == at(1 + 240), "only the repeat remains due"


def test_a_resolution_is_told_to_those_told_of_the_incident_and_to_no_one_else() -> None:
    done = fold(ONE, resolved(ONE, at(1)))

    assert decide(done, told(fold(ONE), T0 + dt.timedelta(seconds=40)), TIMING, at(1)).notify
    assert not decide(done, NotifyState(opened_at=T0), TIMING, at(1)).notify
