"""What Healer remembers of a finished remediation: what was done, where, with what, how long it took, and
whether it worked; runs that did nothing (dry, skipped, denied) are remembered without a verdict. A verified
fix is remembered by the action that healed it, and a fix that did not hold as that action's failure, so
that after one OOM loop (restart, back again, scale-up) memory recommends the scale-up for that workload.
"""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.contract.memory import MemoryAdd, MemoryRecord
from healer_common.contract.remediations import FixNotHeld, Remediation, RemediationState
from services.memory_bridge.outcomes import not_held_memory, outcome_memory
from services.memory_bridge.recommendation import IncidentKind, recommend
from tests.support.samples import T0, pod, remediation


def test_a_succeeded_run_is_remembered_as_a_success() -> None:
    memory = outcome_memory(remediation("succeeded"))

    assert memory.type == "episodic"
    assert memory.metadata.success is True
    assert memory.content == (
        "H8 on pod cto/rex-1 in cluster default: playbook restart-pod (restart_pod) succeeded. "
        "delete the pod so its controller starts a fresh one [remediation rem-1]"
    )


@pytest.mark.parametrize("state", ["failed", "rolled_back"])
def test_a_run_that_acted_and_did_not_succeed_is_remembered_as_a_failure(state: RemediationState) -> None:
    assert outcome_memory(remediation(state)).metadata.success is False


def test_a_dry_run_is_remembered_without_a_verdict() -> None:
    memory = outcome_memory(remediation("succeeded", dry_run=True))

    assert memory.metadata.success is None
    assert "succeeded (dry run)." in memory.content


@pytest.mark.parametrize("state", ["skipped", "denied"])
def test_a_run_that_never_acted_says_nothing_about_its_playbook(state: RemediationState) -> None:
    assert outcome_memory(remediation(state)).metadata.success is None


def test_the_memory_keeps_the_parameters_the_run_acted_with() -> None:
    run = remediation("succeeded")
    step = run.steps[0].model_copy(update={"params": {"memory_limit": "1Gi", "grace_s": 30}})

    assert outcome_memory(run.evolve(steps=[step])).metadata.params == {"memory_limit": "1Gi", "grace_s": 30}


def test_the_memory_says_where_what_and_how_long() -> None:
    metadata = outcome_memory(remediation("succeeded", finished_after_s=42.0)).metadata

    assert (metadata.alert_type, metadata.namespace, metadata.service, metadata.cluster) == (
        "H8",
        "cto",
        "rex-1",
        "default",
    )
    assert metadata.method == "restart-pod"
    assert metadata.duration_s == 42.0
    assert (metadata.incident_id, metadata.remediation_id) == ("inc-1", "rem-1")


def test_an_unfinished_run_has_no_duration() -> None:
    assert outcome_memory(remediation("failed", finished_after_s=None)).metadata.duration_s is None


def test_the_memory_is_tagged_by_alert_playbook_and_outcome() -> None:
    memory = outcome_memory(remediation("failed", alert_ids=("H8", "A7")))

    assert memory.tags == ["alert:H8", "alert:A7", "playbook:restart-pod", "outcome:failed"]
    assert memory.metadata.alert_type == "H8"


def test_a_redelivered_outcome_is_the_same_memory_and_each_state_a_new_one() -> None:
    assert outcome_memory(remediation("succeeded")).event_id == outcome_memory(remediation("succeeded")).event_id
    assert outcome_memory(remediation("succeeded")).event_id != outcome_memory(remediation("failed")).event_id


def test_the_memory_belongs_to_the_incident() -> None:
    assert outcome_memory(remediation()).correlation_id == "inc-1"


# the action that healed, and the fix that did not hold ------------------------------------------------------
OOM = "oom-restart-then-scale"


def healed(run_id: str, action: str, pod_name: str, *, continues: FixNotHeld | None = None) -> Remediation:
    run = remediation("succeeded", target=pod(pod_name))
    return run.evolve(
        remediation_id=run_id, incident_id=f"inc-{run_id}", playbook=OOM, healed_by=action, continues=continues
    )


def restart_not_held(seconds: float = 40.0) -> FixNotHeld:
    return FixNotHeld(remediation_id="rem-1", playbook=OOM, action="restart", fixed_at=T0, back_after_s=seconds)


def test_a_verified_fix_is_remembered_by_the_action_that_healed_it_with_its_playbook_beside() -> None:
    memory = outcome_memory(healed("rem-2", "scale", "rex-worker-849626p577-scvrt"))

    assert memory.metadata.method == "scale"
    assert memory.metadata.success is True
    assert "playbook oom-restart-then-scale (restart_pod) succeeded, healed by scale." in memory.content
    assert memory.tags == ["alert:H8", f"playbook:{OOM}", "outcome:succeeded", "action:scale"]


def test_a_run_that_failed_is_a_failure_of_its_playbook_whatever_it_tried() -> None:
    memory = outcome_memory(remediation("failed").evolve(healed_by=None))

    assert (memory.metadata.method, memory.metadata.success) == ("restart-pod", False)


def test_a_run_that_goes_on_after_a_fix_records_that_the_fix_did_not_hold() -> None:
    run = healed("rem-2", "scale", "rex-worker-849626p577-scvrt", continues=restart_not_held(40))

    lesson = not_held_memory(run)

    assert lesson is not None
    assert lesson.metadata.method == "restart"
    assert lesson.metadata.success is False
    assert lesson.metadata.remediation_id == "rem-1", "the failure is the earlier run's"
    assert (lesson.metadata.namespace, lesson.metadata.service) == ("cto", "rex-worker-849626p577-scvrt")
    assert "restart (playbook oom-restart-then-scale, remediation rem-1) did not hold" in lesson.content
    assert "back 40s after it was verified" in lesson.content
    assert "outcome:did_not_hold" in lesson.tags
    assert not_held_memory(run).event_id == lesson.event_id, "redelivered, it is the same memory"  # type: ignore[union-attr]


def test_nothing_is_learnt_about_holding_from_a_run_that_continues_nothing_or_a_dry_run() -> None:
    assert not_held_memory(healed("rem-2", "scale", "rex-worker-1")) is None
    dry = healed("rem-2", "scale", "rex-worker-1", continues=restart_not_held()).evolve(dry_run=True)
    assert not_held_memory(dry) is None


def stored(item: MemoryAdd) -> MemoryRecord:
    """The record memory-bridge keeps of an add (bridge.remember, without a backend)."""
    return MemoryRecord(
        memory_id=item.event_id,
        type=item.type,
        content=item.content,
        metadata=item.metadata,
        tags=item.tags,
        salience=0.5,
        created_at=item.time,
        last_accessed_at=item.time,
    )


def one_oom_loop() -> list[MemoryRecord]:
    """What memory holds after an OOM loop of cto/rex-worker: a restart verified, its alert back on the
    fresh pod, then a scale-up verified by the run that went on after the restart."""
    first = healed("rem-1", "restart", "rex-worker-849626p577-dqw6t")
    second = healed("rem-2", "scale", "rex-worker-849626p577-scvrt", continues=restart_not_held())
    lesson = not_held_memory(second)
    assert lesson is not None
    return [stored(outcome_memory(first)), stored(lesson), stored(outcome_memory(second))]


def test_after_one_oom_loop_memory_recommends_the_scale_up_for_that_workload_above_0_9() -> None:
    found = recommend(IncidentKind("H8", "cto", "rex-worker"), one_oom_loop(), T0 + dt.timedelta(minutes=5), 10.0)

    assert found is not None
    assert found.method == "scale"
    assert found.confidence == pytest.approx(11 / 12, abs=1e-4)
    assert (found.successes, found.failures) == (1, 0)


def test_for_another_workload_the_same_loop_is_not_enough_to_act_on() -> None:
    found = recommend(IncidentKind("H8", "cto", "cleo-api"), one_oom_loop(), T0 + dt.timedelta(minutes=5), 10.0)

    assert found is not None
    assert found.method == "scale"
    assert found.confidence == pytest.approx(2 / 3, abs=1e-4)
    assert found.confidence < 0.9


def test_without_the_lesson_the_restart_that_did_not_last_would_be_as_good_as_the_scale_up() -> None:
    """Why the lesson matters: one verified success each is a coin toss, and the toss goes to the restart."""
    first, lesson, second = one_oom_loop()
    kind, later = IncidentKind("H8", "cto", "rex-worker"), T0 + dt.timedelta(minutes=5)

    tied = recommend(kind, [first, second], later, 10.0)
    restart_alone = recommend(kind, [first, lesson], later, 10.0)

    assert tied is not None
    assert tied.method == "restart"
    assert tied.confidence == pytest.approx(11 / 12, abs=1e-4)
    assert restart_alone is not None
    assert restart_alone.confidence == pytest.approx(0.5, abs=1e-4)
