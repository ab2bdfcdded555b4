"""The remediator's view of maintenance windows: the silences in Redis (re-read only when someone changed
them, as the correlator does) judged by holds.py against a run's alert labels and inhibitions.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from healer_common.clock import Clock
from healer_common.contract.messages import Labels
from healer_common.contract.silences import Silence
from healer_common.runtime.silence_store import SilenceStore
from healer_common.runtime.state import KeySpace
from services.remediator.holds import hold_reason


class Maintenance:
    def __init__(self, redis: Redis, keys: KeySpace, clock: Clock) -> None:
        self._store = SilenceStore(redis, keys)
        self._clock = clock
        self._silences: list[Silence] = []
        self._version = -1

    async def hold(self, labels: Labels, inhibited_by: Sequence[str]) -> str | None:
        """Why acting on this alert must wait now, or None."""
        await self.refresh()
        return self.hold_now(labels, inhibited_by)

    async def refresh(self) -> None:
        """Re-read the silences if someone changed them: once for a wave of revisions, not once for each."""
        version = await self._store.version()
        if version != self._version:
            self._silences, self._version = await self._store.all(), version

    def hold_now(self, labels: Labels, inhibited_by: Sequence[str]) -> str | None:
        """`hold` against the silences as last read."""
        return hold_reason(self._silences, labels, inhibited_by, self._clock.now())
