"""Salience, decay and reinforcement: how a memory stays alive, Healer's own bookkeeping for both backends.

The seed's rule is "procedural memories never go stale; factual ones after 90 days, episodic 30, temporal 7,
the others 60, unless reinforced", with a selection floor of 0.3. Both halves are one formula here: salience
decays exponentially from the last time a memory was reinforced (OpenMemory's s·e^(-λ·t), without its 0.08
asymptote), and each type's rate λ is chosen so that a memory added at the default salience (0.5) and never
reinforced reaches the floor (0.3) exactly at its type's horizon. "Stale" is "below the floor"; a
reinforcement raises salience and restarts the clock, so what keeps helping keeps living. The rates come out
close to OpenMemory's own sector rates (episodic 0.017/day here, 0.015 there).

Salience is kept here rather than read from OpenMemory because OpenMemory's is not trustworthy for this:
every query hit adds 0.5, and explicit reinforcement is a no-op on its SQLite backend (openmemory.md §6).
Called by the stores, selection and the bridge; pure.
"""

from __future__ import annotations

import datetime as dt
import math

from healer_common.contract.memory import MEMORY_TYPES, MemoryRecord, MemoryType

INITIAL_SALIENCE = 0.5
SEED_FLOOR = 0.3
DAY_S = 86_400.0
HORIZON_DAYS: dict[MemoryType, float | None] = {
    "procedural": None,
    "factual": 90.0,
    "episodic": 30.0,
    "temporal": 7.0,
    "semantic": 60.0,
}


def decay_rate(memory_type: MemoryType) -> float:
    """λ per day: 0 for types that never go stale."""
    horizon = HORIZON_DAYS[memory_type]
    return 0.0 if horizon is None else math.log(INITIAL_SALIENCE / SEED_FLOOR) / horizon


DECAY_RATES: tuple[float, ...] = tuple(decay_rate(t) for t in MEMORY_TYPES)
"""λ per day in the order of MEMORY_TYPES, for stores that decay whole columns at once."""


def salience_at(salience: float, memory_type: MemoryType, last_accessed_at: dt.datetime, now: dt.datetime) -> float:
    """Salience decayed from its last reinforcement to `now`."""
    days = max(0.0, (now - last_accessed_at).total_seconds() / DAY_S)
    return salience * math.exp(-decay_rate(memory_type) * days)


def current_salience(record: MemoryRecord, now: dt.datetime) -> float:
    return salience_at(record.salience, record.type, record.last_accessed_at, now)


def is_stale(record: MemoryRecord, now: dt.datetime, floor: float) -> bool:
    return current_salience(record, now) < floor


def reinforced(record: MemoryRecord, boost: float, now: dt.datetime) -> MemoryRecord:
    """The record after a reinforcement: decayed salience plus `boost` (at most 1), clock restarted."""
    salience = min(1.0, current_salience(record, now) + boost)
    return record.model_copy(
        update={"salience": salience, "reinforcements": record.reinforcements + 1, "last_accessed_at": now}
    )


def recalled(record: MemoryRecord, now: dt.datetime) -> MemoryRecord:
    """The record after a query returned it, when queries reinforce: OpenMemory's s + 0.18·(1 - s)."""
    salience = current_salience(record, now)
    return record.model_copy(update={"salience": min(1.0, salience + 0.18 * (1 - salience)), "last_accessed_at": now})
