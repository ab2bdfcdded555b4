"""What the remediator does with memory's answer: apply a sure recommendation directly, else follow the
playbook, and say which and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from healer_common.contract.memory import MemoryAnswer, Recommendation
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.adapters.playbook_sources import builtin_playbooks
from services.remediator.advice import advise, heeding, not_held, recurrence
from services.remediator.run_state import Fix
from tests.support.samples import T0

PLAYBOOKS = builtin_playbooks(CATALOGUE)
OOM = next(p for p in PLAYBOOKS if p.name == "oom-restart-then-scale")


def answer(method: str, confidence: float) -> MemoryAnswer:
    rec: dict[str, Any] = {
        "method": method,
        "confidence": confidence,
        "memory_id": "mem-7",
        "successes": 9,
        "failures": 1,
    }
    return MemoryAnswer(recommendation=Recommendation.model_validate(rec))


def test_a_sure_recommendation_of_an_action_starts_the_playbook_there() -> None:
    advice = advise(answer("scale_up", 0.95), OOM, PLAYBOOKS, threshold=0.9)

    assert advice.applied
    assert advice.playbook is OOM
    assert advice.first == 1
    assert (advice.memory_id, advice.confidence) == ("mem-7", 0.95)
    assert advice.reason == (
        "memory recommends scale_up (confidence 0.95, memory mem-7); "
        "starting oom-restart-then-scale at scale_up directly"
    )


def test_a_sure_recommendation_of_a_playbook_runs_that_playbook() -> None:
    advice = advise(answer("failing-pod-restart", 0.97), OOM, PLAYBOOKS, threshold=0.9)

    assert advice.playbook.name == "failing-pod-restart"
    assert advice.first is None
    assert advice.applied


def test_a_recommendation_not_above_the_threshold_is_only_noted() -> None:
    advice = advise(answer("scale_up", 0.9), OOM, PLAYBOOKS, threshold=0.9)

    assert not advice.applied
    assert advice.playbook is OOM
    assert advice.first is None
    assert "not above 0.90" in advice.reason


def test_a_recommendation_naming_nothing_healer_knows_is_not_applied() -> None:
    advice = advise(answer("reboot-everything", 0.99), OOM, PLAYBOOKS, threshold=0.9)

    assert not advice.applied
    assert "neither a playbook nor an action" in advice.reason


def test_without_an_answer_the_playbook_is_followed() -> None:
    advice = advise(None, OOM, PLAYBOOKS, threshold=0.9)

    assert not advice.applied
    assert advice.reason == "memory did not answer in time; following the playbook"


def fix(action: str = "restart", playbook: str = "oom-restart-then-scale", seconds_ago: float = 60) -> Fix:
    return Fix(playbook=playbook, action=action, remediation_id="rem-1", at=T0 - dt.timedelta(seconds=seconds_ago))


def test_an_alert_back_soon_after_a_fix_continues_the_playbook_after_that_fix() -> None:
    reason = recurrence(fix(), OOM, T0, window_s=1800)

    assert reason == (
        "the alert is back 60s after restart fixed it (remediation rem-1): restart did not hold, "
        "so oom-restart-then-scale goes on after it"
    )


@pytest.mark.parametrize(
    "earlier",
    [None, fix(seconds_ago=1801), fix(playbook="failing-pod-restart"), fix(action="drain")],
    ids=["no fix", "too long ago", "another playbook", "an action this playbook lacks"],
)
def test_other_histories_start_the_playbook_afresh(earlier: Fix | None) -> None:
    assert recurrence(earlier, OOM, T0, window_s=1800) is None


def test_a_fix_that_did_not_hold_is_carried_with_its_run_action_and_how_soon_it_came_back() -> None:
    carried = not_held(fix("restart", seconds_ago=95), T0)

    assert (carried.remediation_id, carried.playbook, carried.action) == ("rem-1", "oom-restart-then-scale", "restart")
    assert carried.fixed_at == T0 - dt.timedelta(seconds=95)
    assert carried.back_after_s == 95


def test_a_fix_that_just_did_not_hold_outranks_memorys_advice_to_do_it_again() -> None:
    """Memory saw the restart succeed a minute ago and does not know its alert is back."""
    advice = advise(answer("restart", 0.92), OOM, PLAYBOOKS, threshold=0.9)

    heeded = heeding(advice, fix("restart"), "restart did not hold")

    assert not heeded.applied
    assert heeded.playbook is OOM
    assert heeded.first is None
    assert (
        heeded.reason == "memory recommends restart (confidence 0.92, memory mem-7), not applied: restart did not hold"
    )


def test_memorys_advice_that_starts_after_the_fix_that_did_not_hold_stands() -> None:
    advice = advise(answer("scale", 0.95), OOM, PLAYBOOKS, threshold=0.9)

    assert heeding(advice, fix("restart"), "restart did not hold") is advice


def test_memorys_advice_to_run_another_playbook_is_set_aside_for_the_incidents_own() -> None:
    advice = advise(answer("failing-pod-restart", 0.97), OOM, PLAYBOOKS, threshold=0.9)

    heeded = heeding(advice, fix("restart"), "restart did not hold")

    assert not heeded.applied
    assert heeded.playbook is OOM
