"""One behavioural suite, run against both of memory-bridge's backends: the embedded store (SQLite and a local
vector index) and OpenMemory over HTTP (a local peer answering in OpenMemory's documented shape). What a user
of memory notices: it finds what it was told, forgets what stops mattering, keeps what helps, and recommends
what fixed the same incident before, with a confidence that means the same thing on both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from healer_common.clock import ManualClock
from healer_common.contract.memory import (
    MemoryAdd,
    MemoryListRequest,
    MemoryMetadata,
    MemoryPattern,
    MemoryQuery,
)
from healer_common.contract.remediations import RemediationState
from healer_common.settings import MemorySettings
from healer_common.testing import HttpPeer
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.adapters.openmemory_client import OpenMemoryClient
from services.memory_bridge.adapters.openmemory_store import OpenMemoryStore
from services.memory_bridge.backend import MemoryBackend
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.occurrences import Occurrence
from services.memory_bridge.outcomes import outcome_memory
from tests.support.openmemory_peer import FakeOpenMemory
from tests.support.samples import T0, pod, remediation

DAY = 86_400.0


@dataclass
class Memory:
    bridge: MemoryBridge
    clock: ManualClock
    reopen: Callable[[], MemoryBackend]

    async def add(self, item: MemoryAdd) -> str:
        added = await self.bridge.remember(item.evolve(time=self.clock.now()))
        return added.memory_id

    async def ask(self, text: str, **fields: object) -> list[str]:
        answer = await self.bridge.answer(MemoryQuery(text=text, **fields), [])
        return [m.record.content for m in answer.matches]


@pytest.fixture(params=["embedded", "openmemory"])
async def memory(request: pytest.FixtureRequest, tmp_path: Path, http_peer: HttpPeer) -> AsyncIterator[Memory]:
    clock = ManualClock()
    fake = FakeOpenMemory()
    http_peer.handler << fake.respond

    def open_backend() -> MemoryBackend:
        if request.param == "embedded":
            return EmbeddedStore(tmp_path / "memory.sqlite3")
        return OpenMemoryStore(OpenMemoryClient(http_peer.url, fake.api_key), clock)

    backends = [open_backend()]

    def reopen() -> MemoryBackend:
        backends.append(open_backend())
        return backends[-1]

    yield Memory(MemoryBridge(backends[0], clock, MemorySettings()), clock, reopen)
    for backend in backends:
        await backend.close()


def fact(content: str, memory_type: str = "factual", **metadata: object) -> MemoryAdd:
    return MemoryAdd(content=content, type=memory_type, metadata=MemoryMetadata(**metadata))


def outcome(
    state: RemediationState = "succeeded",
    *,
    rid: str = "rem-1",
    name: str = "rex-1",
    namespace: str = "cto",
    playbook: str = "restart-pod",
    alert: str = "H8",
    dry_run: bool = False,
) -> MemoryAdd:
    run = remediation(state, dry_run=dry_run, alert_ids=(alert,), target=pod(name, namespace))
    return outcome_memory(run.evolve(remediation_id=rid, playbook=playbook))


REX_QUESTION = MemoryQuery(text="H8 rex-1", alert_type="H8", namespace="cto", service="rex-1")
OOM = "H8 OOMKilled: pod cto/rex-1 ran out of memory; restarting it brought it back"
PULL = "H4 ImagePullBackOff on pod cto/web-1: the image tag did not exist, rolling back fixed it"
SYNC = "H1 ArgoCD sync failures on application gateway: the repo credentials had expired"


async def test_a_remembered_memory_is_found_by_a_question_about_it(memory: Memory) -> None:
    for text in (OOM, PULL, SYNC):
        await memory.add(fact(text))

    found = await memory.ask("ArgoCD sync failures")

    assert found[0] == SYNC
    assert OOM not in found


async def test_a_question_about_nothing_remembered_gets_no_matches(memory: Memory) -> None:
    for text in (OOM, PULL):
        await memory.add(fact(text))

    assert await memory.ask("certificate expiry of the ingress") == []


async def test_the_same_memory_added_twice_is_kept_once(memory: Memory) -> None:
    item = outcome()
    first = await memory.add(item)
    again = await memory.bridge.remember(item)

    assert again.deduplicated
    assert again.memory_id == first
    assert len((await memory.bridge.listing(MemoryListRequest())).records) == 1


async def test_a_question_naming_an_alert_type_gets_only_memories_of_that_type(memory: Memory) -> None:
    await memory.add(fact(OOM, alert_type="H8"))
    await memory.add(fact(PULL, alert_type="H4"))

    assert await memory.ask("pod OOMKilled ImagePullBackOff image memory", alert_type="H4") == [PULL]


async def test_a_question_naming_a_memory_type_gets_only_that_type(memory: Memory) -> None:
    await memory.add(fact("how to restart a pod: delete it and let its controller recreate it", "procedural"))
    await memory.add(fact("pod cto/rex-1 was restarted at nine", "episodic"))

    found = await memory.ask("restart pod", type="procedural")

    assert found == ["how to restart a pod: delete it and let its controller recreate it"]


async def test_the_more_relevant_memory_comes_first(memory: Memory) -> None:
    await memory.add(fact("queue backlog on builds: workers were scaled to zero"))
    await memory.add(fact("OOMKilled pods in cto: rex-1 needed a larger memory limit"))

    found = await memory.ask("rex-1 OOMKilled memory limit")

    assert found[0] == "OOMKilled pods in cto: rex-1 needed a larger memory limit"


async def test_between_equally_relevant_memories_the_newer_comes_first(memory: Memory) -> None:
    await memory.add(fact("gateway latency spike: connection pool exhausted (first time)"))
    memory.clock.advance(10 * DAY)
    await memory.add(fact("gateway latency spike: connection pool exhausted (second time)"))

    found = await memory.ask("gateway latency spike connection pool exhausted")

    assert found == [
        "gateway latency spike: connection pool exhausted (second time)",
        "gateway latency spike: connection pool exhausted (first time)",
    ]


@pytest.mark.parametrize(
    ("memory_type", "alive_days", "stale_days"),
    [("episodic", 29, 31), ("temporal", 6.5, 7.5), ("factual", 89, 91), ("semantic", 59, 61)],
)
async def test_an_unreinforced_memory_goes_stale_after_its_types_horizon(
    memory: Memory, memory_type: str, alive_days: float, stale_days: float
) -> None:
    await memory.add(fact(OOM, memory_type))

    memory.clock.advance(alive_days * DAY)
    assert await memory.ask("OOMKilled rex-1") == [OOM]
    memory.clock.advance((stale_days - alive_days) * DAY)
    assert await memory.ask("OOMKilled rex-1") == []


async def test_a_procedural_memory_never_goes_stale(memory: Memory) -> None:
    await memory.add(fact("how to rotate the registry credentials of ArgoCD", "procedural"))

    memory.clock.advance(3 * 365 * DAY)

    assert await memory.ask("rotate ArgoCD registry credentials") != []


async def test_a_reinforced_memory_outlives_its_horizon(memory: Memory) -> None:
    memory_id = await memory.add(outcome())
    memory.clock.advance(25 * DAY)

    (stronger,) = await memory.bridge.reinforce([memory_id, "forgotten-long-ago"])
    memory.clock.advance(20 * DAY)

    assert stronger.reinforcements == 1
    assert stronger.salience == pytest.approx(0.5 * (0.3 / 0.5) ** (25 / 30) + 0.15), "decayed, then boosted"
    assert await memory.ask("H8 restart-pod rex-1") != []


async def test_with_reinforcement_on_query_a_memory_that_keeps_being_asked_for_stays_alive(memory: Memory) -> None:
    asked_often = MemoryBridge(memory.bridge.backend, memory.clock, MemorySettings(reinforce_on_query=True))
    await memory.add(fact(OOM, "episodic"))
    for _ in range(3):
        memory.clock.advance(20 * DAY)
        assert [m.record.content for m in (await asked_often.answer(MemoryQuery(text="OOMKilled rex-1"), [])).matches]

    assert await memory.ask("OOMKilled rex-1") == [OOM], "60 days on, past the episodic horizon"


async def test_the_same_incident_fixed_once_is_recommended_above_the_remediators_threshold(memory: Memory) -> None:
    fixed = await memory.add(outcome("succeeded", rid="rem-1", name="rex-1"))
    memory.clock.advance(3600)

    answer = await memory.bridge.answer(
        MemoryQuery(text="H8 pod cto/rex-2 restart-pod", alert_type="H8", namespace="cto", service="rex-2"), []
    )

    assert answer.recommendation is not None
    assert answer.recommendation.method == "restart-pod"
    assert answer.recommendation.memory_id == fixed
    assert answer.recommendation.confidence == pytest.approx(11 / 12, abs=0.001)
    assert (answer.recommendation.successes, answer.recommendation.failures) == (1, 0)
    assert [m.record.memory_id for m in answer.successes] == [fixed]


async def test_one_success_elsewhere_in_the_namespace_is_not_enough_to_act_alone(memory: Memory) -> None:
    await memory.add(outcome("succeeded", name="cleo-1"))

    answer = await memory.bridge.answer(
        MemoryQuery(text="H8 pod cto/rex-1", alert_type="H8", namespace="cto", service="rex-1"), []
    )

    assert answer.recommendation is not None
    assert answer.recommendation.confidence == pytest.approx(2 / 3, abs=0.001)


async def test_a_failure_of_the_same_fix_after_its_success_halves_the_confidence(memory: Memory) -> None:
    await memory.add(outcome("succeeded", rid="rem-1"))
    await memory.add(outcome("failed", rid="rem-2"))

    answer = await memory.bridge.answer(REX_QUESTION, [])

    assert answer.recommendation is not None
    assert answer.recommendation.confidence == pytest.approx(0.5, abs=0.001)
    assert [m.record.metadata.success for m in answer.failures] == [False]


async def test_the_fix_that_worked_is_recommended_over_the_one_that_failed(memory: Memory) -> None:
    await memory.add(outcome("failed", rid="rem-1", playbook="restart-pod"))
    await memory.add(outcome("succeeded", rid="rem-2", playbook="raise-memory-limit"))

    answer = await memory.bridge.answer(REX_QUESTION, [])

    assert answer.recommendation is not None
    assert answer.recommendation.method == "raise-memory-limit"


async def test_dry_runs_and_skipped_runs_recommend_nothing(memory: Memory) -> None:
    await memory.add(outcome("succeeded", rid="rem-1", dry_run=True))
    await memory.add(outcome("skipped", rid="rem-2"))

    answer = await memory.bridge.answer(REX_QUESTION, [])

    assert answer.recommendation is None


async def test_an_answer_carries_a_bounded_context_of_top_memories_and_last_alerts(memory: Memory) -> None:
    for i in range(30):
        await memory.add(outcome("succeeded", rid=f"rem-{i}", name=f"rex-{i}"))
    recent = [
        Occurrence(T0 - dt.timedelta(minutes=i), "H8", "default", "cto", "rex", summary=f"OOM {i}") for i in range(25)
    ]

    answer = await memory.bridge.answer(
        MemoryQuery(text="H8 restart-pod rex", alert_type="H8", namespace="cto", limit=30), recent
    )

    lines = answer.context.splitlines()
    assert lines[0].startswith("Recommended: restart-pod")
    assert sum(1 for line in lines if line.startswith("- [worked")) == 5
    assert sum(1 for line in lines if line.startswith("- ") and "OOM" in line) == 10
    assert "OOM 0" in answer.context
    assert "OOM 24" not in answer.context
    assert len(answer.context) <= 4000


async def test_memories_survive_a_restart_of_the_bridge(memory: Memory) -> None:
    await memory.add(fact(SYNC))

    reopened = MemoryBridge(memory.reopen(), memory.clock, MemorySettings())
    answer = await reopened.answer(MemoryQuery(text="ArgoCD sync failures"), [])

    assert [m.record.content for m in answer.matches] == [SYNC]


async def test_long_text_is_remembered_in_full(memory: Memory) -> None:
    text = "ArgoCD sync failures: " + "the repository credentials expired and every sync failed; " * 20
    await memory.add(fact(text))

    reopened = MemoryBridge(memory.reopen(), memory.clock, MemorySettings())
    answer = await reopened.answer(MemoryQuery(text="ArgoCD sync failures"), [])

    assert answer.matches[0].record.content == text


async def test_the_list_shows_the_newest_first(memory: Memory) -> None:
    for text in (OOM, PULL, SYNC):
        await memory.add(fact(text))
        memory.clock.advance(60)

    listing = await memory.bridge.listing(MemoryListRequest(limit=2))

    assert [r.content for r in listing.records] == [SYNC, PULL]


async def test_stats_count_what_is_remembered_and_what_is_still_alive(memory: Memory) -> None:
    await memory.add(fact(OOM, "episodic"))
    await memory.add(fact(PULL, "temporal"))
    reinforced = await memory.add(fact(SYNC, "procedural"))
    await memory.bridge.reinforce([reinforced])
    memory.clock.advance(10 * DAY)

    stats = await memory.bridge.stats()

    assert stats.total == 3
    assert stats.by_type == {"episodic": 1, "temporal": 1, "procedural": 1}
    assert stats.selectable == 2, "the temporal memory is stale after 10 days"
    assert stats.reinforced == 1


def insight(probability: float, salience: float) -> MemoryAdd:
    pattern = MemoryPattern(kind="correlation", trigger="A7", namespace="cto", predicts="H6", probability=probability)
    return MemoryAdd(
        event_id="insight-a7-h6",
        content=f"A7 in cto is followed by H6 {probability:.0%} of the time",
        type="semantic",
        metadata=MemoryMetadata(alert_type="A7", namespace="cto", pattern=pattern),
        salience=salience,
    )


async def test_an_insight_found_again_is_relearned_and_strengthened_not_duplicated(memory: Memory) -> None:
    first = await memory.add(insight(0.8, 0.6))
    again = await memory.bridge.remember(insight(0.85, 0.6).evolve(time=memory.clock.now()))

    assert (again.memory_id, again.deduplicated) == (first, True)
    (record,) = [r for r, _ in await memory.bridge.patterns(0.0)]
    assert record.content == "A7 in cto is followed by H6 85% of the time"
    assert record.salience == pytest.approx(0.75)
    assert record.reinforcements == 1


async def test_only_patterns_above_the_salience_asked_for_are_recalled(memory: Memory) -> None:
    await memory.add(insight(0.9, 0.85))
    await memory.add(fact(OOM))

    strong = await memory.bridge.patterns(0.8)
    memory.clock.advance(30 * DAY)
    faded = await memory.bridge.patterns(0.8)

    assert [r.metadata.pattern.predicts for r, _ in strong if r.metadata.pattern] == ["H6"]
    assert faded == []
