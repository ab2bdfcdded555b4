"""What Healer remembers of a finished remediation: what was done, where, with what, how long it took, and
whether it worked; runs that did nothing (dry, skipped, denied) are remembered without a verdict.
"""

from __future__ import annotations

import pytest

from healer_common.remediations import RemediationState
from services.memory_bridge.outcomes import outcome_memory
from tests.unit.samples import remediation


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
