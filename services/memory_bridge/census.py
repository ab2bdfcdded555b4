"""How much is remembered and how much of it is alive, counted over records (`healer memory stats`) for a
backend that hands over whole records (OpenMemory); the embedded store counts its columns directly. Pure.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from healer_common.contract.memory import MemoryRecord, MemoryStats
from services.memory_bridge.decay import current_salience


def census_of(records: list[MemoryRecord], now: dt.datetime, floor: float, backend: str) -> MemoryStats:
    salience = [current_salience(r, now) for r in records]
    return MemoryStats(
        backend=backend,
        total=len(records),
        by_type=dict(Counter(r.type for r in records)),
        selectable=sum(1 for s in salience if s >= floor),
        reinforced=sum(1 for r in records if r.reinforcements > 0),
        patterns=sum(1 for r in records if r.metadata.pattern is not None),
        average_salience=sum(salience) / len(salience) if salience else 0.0,
    )
