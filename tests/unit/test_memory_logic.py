"""memory-bridge's pure rules as plain functions: the local embedding, decay per type, the confidence of a
recommendation, what counts as the same workload, and the bounded view of what happens right now.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from healer_common.contract.memory import MEMORY_TYPES, MemoryMetadata, MemoryRecord, MemoryType
from services.memory_bridge.decay import current_salience, decay_rate, is_stale, reinforced
from services.memory_bridge.embedding import DIMENSIONS, cosine, embed, overlap
from services.memory_bridge.occurrences import Occurrence, workload_of
from services.memory_bridge.recent import RecentActivity
from services.memory_bridge.recommendation import IncidentKind, recommend
from tests.support.samples import T0

DAY = dt.timedelta(days=1)


def record(
    memory_type: MemoryType = "episodic",
    *,
    salience: float = 0.5,
    created: dt.datetime = T0,
    memory_id: str = "m-1",
    **metadata: object,
) -> MemoryRecord:
    return MemoryRecord(
        memory_id=memory_id,
        type=memory_type,
        content="x",
        metadata=MemoryMetadata(**metadata),
        salience=salience,
        created_at=created,
        last_accessed_at=created,
    )


# embedding ---------------------------------------------------------------------------------------------------
def test_texts_about_the_same_thing_are_closer_than_unrelated_ones() -> None:
    oom = embed("pod rex-1 OOMKilled: memory limit too low")
    similar = embed("rex-1 was OOMKilled again, raise its memory limit")
    unrelated = embed("the TLS certificate of the ingress expires in three days")

    assert cosine(oom, similar) > 0.4
    assert cosine(oom, unrelated) < 0.15


def test_the_embedding_is_the_same_in_every_process() -> None:
    text = "ArgoCD sync failures on gateway"
    other = subprocess.run(
        [sys.executable, "-c", f"from services.memory_bridge.embedding import embed; print(embed({text!r}).tolist())"],
        check=True,
        capture_output=True,
        text=True,
    )

    assert np.allclose(json.loads(other.stdout), embed(text))


@given(st.text(max_size=300))
def test_every_embedding_is_a_unit_vector_or_zero(text: str) -> None:
    vector = embed(text)

    assert vector.shape == (DIMENSIONS,)
    assert float(np.linalg.norm(vector)) == pytest.approx(1.0, abs=1e-5) or not vector.any()


def test_word_overlap_is_the_share_of_the_questions_words_found() -> None:
    assert overlap(["argocd", "sync", "failures"], "ArgoCD sync went fine") == pytest.approx(2 / 3)
    assert overlap([], "anything") == 0.0


# decay -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("memory_type", "horizon_days"), [("factual", 90), ("episodic", 30), ("temporal", 7)])
def test_an_unreinforced_memory_reaches_the_floor_exactly_at_its_types_horizon(
    memory_type: MemoryType, horizon_days: int
) -> None:
    memory = record(memory_type)

    assert current_salience(memory, T0 + horizon_days * DAY) == pytest.approx(0.3)
    assert not is_stale(memory, T0 + (horizon_days - 0.5) * DAY, floor=0.3)
    assert is_stale(memory, T0 + (horizon_days + 0.5) * DAY, floor=0.3)


def test_procedural_memories_do_not_decay_and_others_do() -> None:
    assert decay_rate("procedural") == 0.0
    assert all(decay_rate(t) > 0 for t in MEMORY_TYPES if t != "procedural")


def test_reinforcement_adds_to_the_decayed_salience_caps_at_one_and_restarts_the_clock() -> None:
    memory = record("episodic", salience=0.95)
    later = T0 + 30 * DAY

    once = reinforced(memory, 0.15, later)

    assert once.salience == pytest.approx(0.95 * 0.6 + 0.15)
    assert once.last_accessed_at == later
    assert reinforced(record(salience=0.95), 0.15, T0).salience == 1.0


# recommendation confidence -----------------------------------------------------------------------------------
def outcome(
    success: bool | None, *, ns: str = "cto", service: str = "rex-1", age_days: float = 0, n: int = 0
) -> MemoryRecord:
    return record(
        memory_id=f"o-{n}",
        created=T0 - age_days * DAY,
        alert_type="H8",
        namespace=ns,
        service=service,
        method="restart-pod",
        success=success,
    )


SAME = IncidentKind("H8", "cto", "rex")


def confidence(outcomes: list[MemoryRecord], repeat_weight: float = 10.0) -> float | None:
    found = recommend(SAME, outcomes, T0, repeat_weight)
    return None if found is None else found.confidence


def test_one_fresh_verified_fix_of_the_same_incident_passes_0_9() -> None:
    assert confidence([outcome(True)]) == pytest.approx(11 / 12, abs=1e-4)


def test_the_same_fix_counts_less_as_it_ages_and_drops_below_0_9_after_about_12_days() -> None:
    assert confidence([outcome(True, age_days=11)]) > 0.9  # type: ignore[operator]
    assert confidence([outcome(True, age_days=14)]) < 0.9  # type: ignore[operator]


def test_with_a_repeat_weight_of_one_it_takes_nine_clean_fixes() -> None:
    eight = [outcome(True, n=i) for i in range(8)]

    assert confidence(eight, repeat_weight=1) == pytest.approx(0.9, abs=1e-4)
    assert confidence([*eight, outcome(True, n=9)], repeat_weight=1) > 0.9  # type: ignore[operator]


def test_outcomes_elsewhere_weigh_less_than_in_the_namespace() -> None:
    in_namespace = confidence([outcome(True, service="cleo-1")])
    elsewhere = confidence([outcome(True, ns="staging", service="cleo-1")])

    assert in_namespace == pytest.approx(2 / 3, abs=1e-4)
    assert elsewhere == pytest.approx(1.25 / 2.25, abs=1e-4)


def test_nothing_is_recommended_without_a_success() -> None:
    assert confidence([outcome(False), outcome(None, n=1)]) is None


# workloads and recent activity -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "workload"),
    [
        ("gateway-7d4b9c6f5-x2k8p", "gateway"),
        ("rex-1", "rex"),
        ("backup-job-x7q2z", "backup-job"),
        ("redis", "redis"),
        (None, None),
    ],
)
def test_pods_of_one_workload_are_one_service_to_memory(name: str | None, workload: str | None) -> None:
    assert workload_of(name) == workload


def alert_at(minutes_ago: float, ref: str, *, firing: bool = True, namespace: str = "cto") -> Occurrence:
    return Occurrence(T0 - dt.timedelta(minutes=minutes_ago), "H8", "default", namespace, "rex", firing, ref=ref)


def test_recent_activity_keeps_only_fresh_unseen_occurrences() -> None:
    recent = RecentActivity(window_s=3600, started_at=T0 - DAY)

    assert recent.note(alert_at(5, "a"), T0)
    assert not recent.note(alert_at(5, "a"), T0), "a redelivery is not news"
    assert recent.note(alert_at(4, "a", firing=False), T0), "its resolution is"
    assert not recent.note(alert_at(90, "b"), T0), "replayed history is not current"
    assert recent.note(alert_at(1, "c", namespace="staging"), T0)

    assert [o.ref for o in recent.current(T0, namespace="cto")] == ["a", "a"]
    assert [o.ref for o in recent.current(T0 + dt.timedelta(minutes=58))] == ["c"]


def test_the_system_is_idle_only_when_no_incident_is_open_and_nothing_fired_for_a_while() -> None:
    recent = RecentActivity(window_s=3600, started_at=T0)
    recent.incident("inc-1", is_open=True, now=T0)

    assert recent.idle_for(T0 + DAY) == 0.0
    recent.incident("inc-1", is_open=False, now=T0 + dt.timedelta(minutes=10))
    assert recent.idle_for(T0 + dt.timedelta(minutes=25)) == 900.0
