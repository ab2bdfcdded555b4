"""What only the embedded store does: carry the thin path's memories over, and keep its index in step with
the file across a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from healer_common.clock import ManualClock
from healer_common.contract.memory import MemoryListRequest, MemoryQuery
from healer_common.settings import MemorySettings
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.outcomes import outcome_memory
from tests.support.samples import T0, remediation


async def test_memories_of_the_thin_paths_store_are_carried_over_once(tmp_path: Path) -> None:
    path = tmp_path / "memory.sqlite3"
    item = outcome_memory(remediation())
    old = sqlite3.connect(path)
    old.execute("create table memories (memory_id text primary key, created_at text not null, record text not null)")
    record = (
        f'{{"memory_id": "m-old", "type": "episodic", "content": {item.content!r}, "salience": 0.5, '
        f'"created_at": "{T0.isoformat()}", "last_accessed_at": "{T0.isoformat()}", '
        f'"metadata": {{"alert_type": "H8", "method": "restart-pod", "success": true}}}}'
    ).replace("'", '"')
    old.execute("insert into memories values ('m-old', ?, ?)", (T0.isoformat(), record))
    old.commit()
    old.close()

    store = EmbeddedStore(path)
    bridge = MemoryBridge(store, ManualClock(), MemorySettings())
    try:
        answer = await bridge.answer(MemoryQuery(text="H8 restart-pod rex-1"), [])
        listing = await bridge.listing(MemoryListRequest())
    finally:
        await store.close()

    assert [m.record.memory_id for m in answer.matches] == ["m-old"]
    assert [r.memory_id for r in listing.records] == ["m-old"]
    tables = {name for (name,) in sqlite3.connect(path).execute("select name from sqlite_master where type='table'")}
    assert "memories" not in tables
