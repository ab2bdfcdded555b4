"""What the remediator does with memory's answer: apply a sure recommendation directly, else follow the
playbook, and say which and why."""

from __future__ import annotations

from typing import Any

from healer_common.memory import MemoryAnswer, Recommendation
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.advice import advise
from services.remediator.playbook_sources import builtin_playbooks

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
