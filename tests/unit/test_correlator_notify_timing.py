"""When an incident's next revision is published (after group_wait for a new incident, at most every
group_interval for changes, at once for a resolution, after repeat_interval for an unchanged one people were
told of), and whether it is told (never while muted, a resolution only to those who were told)."""

from __future__ import annotations

import datetime as dt

from healer_common.contract.incidents import Incident
from services.correlator.notify_timing import NotifyState, NotifyTiming, decide, held_for_backlog, next_publication
from tests.support.correlator_samples import at, fold, pod_alert, resolved
from tests.support.samples import T0

TIMING = NotifyTiming(
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)
ONE, TWO = pod_alert("p1", node="n1"), pod_alert("p2", node="n1", starts_at=at(1))
FRESH = NotifyState(opened_at=T0)


def told(incident: Incident, when: dt.datetime) -> NotifyState:
    decision = decide(incident, FRESH, TIMING, when)
    assert decision.notify
    return decision.state


def muted(incident: Incident, *fingerprints: str) -> Incident:
    alerts = [
        a.model_copy(update={"inhibited_by": ["rule: x"]}) if a.fingerprint in fingerprints else a
        for a in incident.alerts
    ]
    return incident.model_copy(update={"alerts": alerts})


def test_a_new_incident_is_published_when_group_wait_is_over_and_told_then() -> None:
    assert next_publication(FRESH, changed=True, resolved=False, timing=TIMING) == T0 + dt.timedelta(seconds=30)

    over = decide(fold(ONE), FRESH, TIMING, T0 + dt.timedelta(seconds=30))

    assert over.notify
    assert over.state.told_at == over.state.published_at == T0 + dt.timedelta(seconds=30)


def test_changes_are_published_group_interval_after_the_last_revision() -> None:
    state = told(fold(ONE), at(1))

    assert next_publication(state, changed=True, resolved=False, timing=TIMING) == at(6)
    assert decide(fold(ONE, TWO), state, TIMING, at(6)).notify


def test_a_revision_due_while_alerts_wait_to_be_folded_waits_for_them_one_interval_at_most() -> None:
    """Behind in a storm, publishing on time would send the revision without the waiting alerts, and them in one
    more revision (and notification) an interval later."""
    state = told(fold(ONE), at(1))
    due = next_publication(state, changed=True, resolved=False, timing=TIMING)
    assert due == at(6)

    def held(now: dt.datetime, *, waiting: int, resolved: bool = False, published: NotifyState = state) -> bool:
        return held_for_backlog(published, due, now, resolved=resolved, waiting=waiting, timing=TIMING)

    assert held(at(6), waiting=5_000)
    assert held(at(10.9), waiting=5_000), "up to one more group_interval"
    assert not held(at(11), waiting=5_000), "never longer: a correlator always behind still publishes"
    assert not held(at(6), waiting=0), "nothing waiting: on time"
    assert not held(at(6), waiting=5_000, resolved=True), "a resolution goes at once"
    assert not held(at(6), waiting=5_000, published=FRESH), "a first revision goes at group_wait"


def test_a_resolution_is_published_at_once() -> None:
    state = told(fold(ONE), at(1))

    assert next_publication(state, changed=True, resolved=True, timing=TIMING) == at(1)


def test_something_around_an_incident_changing_publishes_it_group_interval_after_the_last_revision() -> None:
    state = told(fold(ONE), at(1)).model_copy(update={"recheck": True})

    assert next_publication(state, changed=False, resolved=False, timing=TIMING) == at(6)


def test_an_unchanged_open_incident_is_told_again_after_repeat_interval() -> None:
    incident = fold(ONE)
    state = told(incident, at(1))

    assert next_publication(state, changed=False, resolved=False, timing=TIMING) == at(1 + 240)
    assert not decide(incident, state, TIMING, at(60)).notify
    assert decide(incident, state, TIMING, at(1 + 240)).notify


def test_an_incident_whose_firing_alerts_are_all_muted_is_never_told() -> None:
    decision = decide(muted(fold(ONE), ONE.fingerprint), FRESH, TIMING, at(10))

    assert not decision.notify
    assert decision.state.published_at == at(10)
    assert next_publication(decision.state, changed=False, resolved=False, timing=TIMING) is None


def test_a_muted_alert_joining_is_no_change_worth_telling() -> None:
    state = told(fold(ONE), at(1))

    decision = decide(muted(fold(ONE, TWO), TWO.fingerprint), state, TIMING, at(7))

    assert not decision.notify
    assert next_publication(decision.state, changed=False, resolved=False, timing=TIMING) == at(1 + 240)


def test_a_resolution_is_told_to_those_told_of_the_incident_and_to_no_one_else() -> None:
    done = fold(ONE, resolved(ONE, at(1)))

    assert decide(done, told(fold(ONE), T0 + dt.timedelta(seconds=40)), TIMING, at(1)).notify
    assert not decide(done, FRESH, TIMING, at(1)).notify
