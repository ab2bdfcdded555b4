"""Other agents' memories as Healer uses them: read beside its own with every question, ranked by their
source's weight, marked with whose they are (in the answer, its context and the CodeRun's prompt), and never
written: a run they informed that succeeds reinforces Healer's own memories only."""

from __future__ import annotations

from pathlib import Path

from healer_common.clock import ManualClock
from healer_common.contract.memory import MemoryAdd, MemoryMetadata, MemoryQuery
from healer_common.settings import MemorySettings
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.bridge import MemoryBridge, SharedSource
from services.remediator.story import memory_ids_told, memory_note, memory_story
from tests.support.samples import T0

OOM = "rex-worker OOMKilled in cto: raising the memory limit to 1Gi fixed it"


def fact(text: str, event_id: str) -> MemoryAdd:
    return MemoryAdd(event_id=event_id, content=text, type="episodic", metadata=MemoryMetadata(success=True), time=T0)


async def test_another_agents_memory_is_read_weighted_marked_and_never_written(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    own, rexs = EmbeddedStore(tmp_path / "healer.sqlite3"), EmbeddedStore(tmp_path / "rex.sqlite3")
    try:
        await MemoryBridge(rexs, clock, MemorySettings()).remember(fact(OOM, "rex-1"))
        bridge = MemoryBridge(own, clock, MemorySettings(), (SharedSource("rex", 0.5, rexs),))
        await bridge.remember(fact(OOM.replace("1Gi", "768Mi"), "healer-1"))

        answer = await bridge.answer(MemoryQuery(text="rex-worker OOMKilled memory limit"), [])

        assert [(m.record.memory_id, m.shared_from) for m in answer.matches] == [("healer-1", None), ("rex-1", "rex")]
        healers, rex = answer.matches
        assert rex.score < healers.score, "the same memory from another agent weighs half as much"
        assert "from rex's memory" in answer.context
        assert "Remembered in rex's memory (worked)" in memory_story(answer)
        assert memory_ids_told(answer) == ["healer-1"], "another agent's memory is never reinforced"
        assert "1 from rex's memory" in memory_note(answer)

        assert [r.memory_id for r in await bridge.reinforce(["rex-1", "healer-1"])] == ["healer-1"]
        untouched = await rexs.get("rex-1")
        assert untouched is not None
        assert untouched.reinforcements == 0
    finally:
        await own.close()
        await rexs.close()
