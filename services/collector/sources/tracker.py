"""The shape every watched kind shares: a tracker turns the objects of one kind into emissions.

The kubernetes source (kubernetes.py) owns the watches and hands each object to its kind's tracker:
`observe` for an added or modified object (and for each object of a relist), `remove` for a deleted one (and
for one a relist no longer shows), `resync` at each resync tick for what time alone changes (a container not
ready for 30 s, a certificate's remaining seconds). Trackers are pure: objects and a time in, emissions out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Protocol

from services.collector.observations import Emission, Json, ObjectKey, Observation, object_key
from services.collector.transitions import TransitionMemory, in_trouble


class Tracker(Protocol):
    def observe(self, obj: Json, now: dt.datetime) -> Emission: ...

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission: ...

    def keys(self) -> Iterable[ObjectKey]: ...

    def resync(self, now: dt.datetime) -> Emission:
        """What time alone has changed; most kinds change only when their objects do (inherit this)."""
        del now
        return Emission()


Evaluate = Callable[[Json, dt.datetime], list[Observation]]


class ConditionCache:
    """Objects of one kind whose conditions follow from the object and the time, emitted on transitions."""

    def __init__(self, evaluate: Evaluate, keep: Callable[[Json], Json] | None = None) -> None:
        self._evaluate = evaluate
        self._keep = keep or (lambda obj: obj)
        self._objects: dict[ObjectKey, Json] = {}
        self._memory = TransitionMemory()

    def observe(self, obj: Json, now: dt.datetime) -> list[Observation]:
        key = object_key(obj)
        kept = self._objects[key] = self._keep(obj)
        return self._memory.changes(key, self._evaluate(kept, now))

    def remove(self, key: ObjectKey) -> bool:
        """Forget an object; True when the last thing said about it was a problem (someone should hear it's gone)."""
        self._objects.pop(key, None)
        return in_trouble(self._memory.forget(key))

    def reevaluate(self, now: dt.datetime) -> list[Observation]:
        found: list[Observation] = []
        for key, obj in self._objects.items():
            found += self._memory.changes(key, self._evaluate(obj, now))
        return found

    def keys(self) -> Iterable[ObjectKey]:
        return list(self._objects)

    def objects(self) -> list[Json]:
        return list(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)
