"""Healer's two stops, in Redis so every replica obeys them: the kill switch people throw (`healer pause`,
`healer resume`) and the circuit breaker Healer throws on itself when its remediations keep failing.
"""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel
from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.remediator.breaker import RunOutcome

KEEP_OUTCOMES = 500


class Pause(BaseModel):
    by: str
    reason: str = ""
    at: dt.datetime

    def __str__(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"paused by {self.by} at {self.at:%Y-%m-%d %H:%M:%S}Z{why} (`healer resume` lifts it)"


class Switches:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = KeySpace(keys("remediator"))

    async def pause(self, by: str, reason: str, now: dt.datetime) -> Pause:
        pause = Pause(by=by, reason=reason, at=now)
        await self._redis.set(self._key("paused"), pause.model_dump_json())
        return pause

    async def resume(self) -> Pause | None:
        """Lift the kill switch; what it was, if it was on."""
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._key("paused"))
        pipe.delete(self._key("paused"))
        raw, _ = await pipe.execute()
        return Pause.model_validate_json(raw) if raw else None

    async def paused(self) -> Pause | None:
        raw = await self._redis.get(self._key("paused"))
        return Pause.model_validate_json(raw) if raw else None

    async def record_outcome(self, outcome: RunOutcome) -> None:
        key = self._key("outcomes")
        entry = json.dumps({"time": outcome.time.timestamp(), "ok": outcome.succeeded})
        pipe = self._redis.pipeline(transaction=True)
        pipe.lpush(key, entry)
        pipe.ltrim(key, 0, KEEP_OUTCOMES - 1)
        await pipe.execute()

    async def outcomes(self) -> list[RunOutcome]:
        entries = [json.loads(e) for e in await self._redis.lrange(self._key("outcomes"), 0, -1)]
        return [RunOutcome(dt.datetime.fromtimestamp(e["time"], dt.UTC), bool(e["ok"])) for e in entries]

    async def breaker_opened_at(self) -> dt.datetime | None:
        raw = await self._redis.get(self._key("breaker-opened"))
        return dt.datetime.fromtimestamp(float(raw), dt.UTC) if raw else None

    async def open_breaker(self, at: dt.datetime) -> None:
        await self._redis.set(self._key("breaker-opened"), str(at.timestamp()))
