"""Silences in Redis, shared by the CLI (which creates and expires them) and the correlator (which applies
them). A version counter grows on every change, so a correlator re-reads and re-applies them only then.
"""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from healer_common.contract.silences import Silence
from healer_common.runtime.state import KeySpace

KEEP_ENDED_S = 7 * 86_400.0
"""Ended silences stay listable for a week (`healer silence list --all`), then are dropped."""


class SilenceStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._hash = keys("correlator", "silences")
        self._version = keys("correlator", "silences", "version")

    async def put(self, silence: Silence) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._hash, silence.silence_id, silence.model_dump_json())
            pipe.incr(self._version)
            await pipe.execute()

    async def get(self, silence_id: str) -> Silence | None:
        raw = await self._redis.hget(self._hash, silence_id)
        return Silence.model_validate_json(raw) if raw else None

    async def all(self) -> list[Silence]:
        raw = await self._redis.hgetall(self._hash)
        return sorted((Silence.model_validate_json(v) for v in raw.values()), key=lambda s: s.starts_at)

    async def version(self) -> int:
        return int(await self._redis.get(self._version) or 0)

    async def expire(self, silence_id: str, by: str, now: dt.datetime) -> Silence | None:
        """End a silence now; None when there is no such silence. Ending an ended one changes nothing."""
        silence = await self.get(silence_id)
        if silence is None or silence.ends_at <= now:
            return silence
        ends_at = max(now, silence.starts_at + dt.timedelta(microseconds=1))
        ended = Silence.model_validate({**silence.model_dump(), "ends_at": ends_at, "expired_by": by})
        await self.put(ended)
        return ended

    async def drop_ended_before(self, cutoff: dt.datetime) -> list[str]:
        """Forget silences that ended before `cutoff`; returns their ids."""
        old = [s.silence_id for s in await self.all() if s.ends_at < cutoff]
        if old:
            await self._redis.hdel(self._hash, *old)
        return old
