"""Transitions, not repeats: the memory that keeps a relist, a resumed watch or a resync from flooding the bus."""

from __future__ import annotations

from services.collector.observations import Observation, observe
from services.collector.transitions import TransitionMemory

KEY = ("cto", "rex-1")


def seen(reason: str, occurrence: str = "", container: str | None = "rex") -> Observation:
    return observe(
        "Pod", KEY, reason, labels={"namespace": "cto", "pod": "rex-1"}, container=container, occurrence=occurrence
    )


def test_the_same_state_seen_again_emits_nothing() -> None:
    memory = TransitionMemory()

    assert len(memory.changes(KEY, [seen("CrashLoopBackOff", "3")])) == 1
    assert memory.changes(KEY, [seen("CrashLoopBackOff", "3")]) == []


def test_a_new_occurrence_of_the_same_reason_is_news() -> None:
    memory = TransitionMemory()
    memory.changes(KEY, [seen("OOMKilled", "09:00")])

    assert [o.occurrence for o in memory.changes(KEY, [seen("OOMKilled", "09:05")])] == ["09:05"]


def test_a_state_that_left_and_came_back_is_news_again() -> None:
    memory = TransitionMemory()
    memory.changes(KEY, [seen("Ready", container=None)])
    memory.changes(KEY, [seen("CrashLoopBackOff", "1")])

    assert [o.condition.reason for o in memory.changes(KEY, [seen("Ready", container=None)])] == ["Ready"]


def test_problems_are_published_before_the_recoveries_that_end_them() -> None:
    memory = TransitionMemory()

    found = memory.changes(KEY, [seen("Ready", container=None), seen("OOMKilled", "09:00")])

    assert [o.condition.reason for o in found] == ["OOMKilled", "Ready"]


def test_a_forgotten_object_is_reported_afresh() -> None:
    memory = TransitionMemory()
    memory.changes(KEY, [seen("Ready", container=None)])

    memory.forget(KEY)

    assert len(memory) == 0
    assert len(memory.changes(KEY, [seen("Ready", container=None)])) == 1
