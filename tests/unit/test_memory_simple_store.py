"""The embedded memory store of the thin path: memories kept in SQLite, found again by their words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from healer_common.clock import ManualClock
from healer_common.memory import MemoryAdd, MemoryMetadata, MemoryQuery
from services.memory_bridge.simple_store import SimpleMemoryStore
from tests.unit.samples import T0

OOM = MemoryAdd(
    event_id="m-oom",
    content="H8 OOMKilled pod cto/rex-1: restart-pod succeeded after raising nothing",
    type="episodic",
    metadata=MemoryMetadata(alert_type="H8", success=True),
)
PULL = MemoryAdd(
    event_id="m-pull",
    content="H4 ImagePullBackOff pod cto/web-1: wrong image tag, rollback fixed it",
    metadata=MemoryMetadata(alert_type="H4", success=True),
)
OOM_NODE = MemoryAdd(
    event_id="m-oom-node",
    content="H8 MemoryPressure on node n1 OOMKilled several pods",
    metadata=MemoryMetadata(alert_type="H8"),
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[SimpleMemoryStore]:
    memories = SimpleMemoryStore(tmp_path / "nested" / "memory.sqlite3", clock)
    yield memories
    memories.close()


async def test_an_added_memory_is_stored_with_its_content_and_time(store: SimpleMemoryStore) -> None:
    added = await store.add(OOM)

    assert (added.memory_id, added.deduplicated) == ("m-oom", False)
    (record,) = await store.all()
    assert (record.memory_id, record.type, record.content) == ("m-oom", "episodic", OOM.content)
    assert record.metadata.alert_type == "H8"
    assert record.created_at == record.last_accessed_at == T0


async def test_the_same_event_added_twice_is_stored_once(store: SimpleMemoryStore) -> None:
    await store.add(OOM)

    again = await store.add(OOM.evolve(content="a redelivery with other words"))

    assert (again.memory_id, again.deduplicated) == ("m-oom", True)
    assert [r.content for r in await store.all()] == [OOM.content]


async def test_memories_survive_reopening_the_store(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "memory.sqlite3"
    first = SimpleMemoryStore(path, clock)
    await first.add(OOM)
    first.close()

    reopened = SimpleMemoryStore(path, clock)
    try:
        assert [r.memory_id for r in await reopened.all()] == ["m-oom"]
    finally:
        reopened.close()


async def test_all_lists_the_newest_first(store: SimpleMemoryStore, clock: ManualClock) -> None:
    await store.add(OOM)
    clock.advance(60)
    await store.add(PULL)

    assert [r.memory_id for r in await store.all()] == ["m-pull", "m-oom"]
    assert [r.memory_id for r in await store.all(limit=1)] == ["m-pull"]


async def test_a_query_finds_memories_sharing_its_words_most_relevant_first(store: SimpleMemoryStore) -> None:
    for item in (OOM, PULL, OOM_NODE):
        await store.add(item)

    answer = await store.query(MemoryQuery(text="OOMKilled rex-1 restart-pod"))

    assert [m.record.memory_id for m in answer.matches] == ["m-oom", "m-oom-node"]
    assert answer.matches[0].relevance == 1.0
    assert answer.matches[1].relevance == pytest.approx(1 / 3)
    assert answer.backend == "embedded-simple"
    assert [m.record.memory_id for m in answer.successes] == ["m-oom"]


async def test_a_query_is_case_insensitive(store: SimpleMemoryStore) -> None:
    await store.add(PULL)

    answer = await store.query(MemoryQuery(text="imagepullbackoff"))

    assert [m.record.memory_id for m in answer.matches] == ["m-pull"]


async def test_a_query_for_an_alert_type_only_finds_memories_of_that_type(store: SimpleMemoryStore) -> None:
    for item in (OOM, PULL, OOM_NODE):
        await store.add(item)

    answer = await store.query(MemoryQuery(text="pod OOMKilled ImagePullBackOff", alert_type="H4"))

    assert [m.record.memory_id for m in answer.matches] == ["m-pull"]


async def test_a_query_with_no_shared_words_finds_nothing(store: SimpleMemoryStore) -> None:
    await store.add(OOM)

    assert (await store.query(MemoryQuery(text="certificate expiry"))).matches == []


async def test_a_query_returns_at_most_its_limit(store: SimpleMemoryStore) -> None:
    for item in (OOM, PULL, OOM_NODE):
        await store.add(item)

    answer = await store.query(MemoryQuery(text="pod", limit=1))

    assert len(answer.matches) == 1
