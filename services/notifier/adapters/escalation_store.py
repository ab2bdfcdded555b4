"""Escalation timers and state in Redis, so replicas share them and a restart loses none.

    <prefix>:notifier:escalation:<incident>   hash: policy, started_at, next_level, stopped
    <prefix>:notifier:escalation-due          sorted set: incident -> when its next level is due (epoch s)

A replica claims a due timer by pushing its score a lease ahead in one Lua step; if it dies while firing,
the lease runs out and another replica (or the restarted one) fires it, and the sent-log keeps channels that
already had the level from getting it twice.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.notifier.escalation import Escalation

LEASE_S = 60.0
KEEP_S = 30 * 86_400
_CLAIM = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return 1
end
return 0
"""
_ADVANCE = """
local stopped = redis.call('HGET', KEYS[1], 'stopped')
if stopped == false or stopped ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'next_level', ARGV[1])
return 1
"""


class EscalationStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._due = keys("notifier", "escalation-due")

    def _key(self, incident_id: str) -> str:
        return self._keys("notifier", "escalation", incident_id)

    async def start(self, escalation: Escalation, first_due: dt.datetime) -> bool:
        """Begin watching an incident, unless it already is (or was): True when this call started it."""
        return escalation.incident_id in await self.start_many([(escalation, first_due)])

    async def start_many(self, starting: list[tuple[Escalation, dt.datetime]]) -> set[str]:
        """`start` for many incidents in two round trips (a storm's wave tells hundreds): those this call started.
        The policy is set only if absent, so of two replicas (or a redelivery) one starts each escalation."""
        if not starting:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for escalation, _ in starting:
                pipe.hsetnx(self._key(escalation.incident_id), "policy", escalation.policy)
            won = await pipe.execute()
        started = [(e, due) for (e, due), first in zip(starting, won, strict=True) if first]
        async with self._redis.pipeline(transaction=True) as pipe:
            for escalation, first_due in started:
                key = self._key(escalation.incident_id)
                pipe.hset(
                    key,
                    mapping={
                        "started_at": escalation.started_at.isoformat(),
                        "next_level": str(escalation.next_level),
                        "stopped": "",
                    },
                )
                pipe.expire(key, KEEP_S)
                pipe.zadd(self._due, {escalation.incident_id: first_due.timestamp()})
            if started:
                await pipe.execute()
        return {e.incident_id for e, _ in started}

    async def claim_request(self, incident_id: str, request: str) -> bool:
        """True once per escalate request (a remediation step), however often its run is republished."""
        key = self._keys("notifier", "escalation-requests", incident_id)
        pipe = self._redis.pipeline(transaction=True)
        pipe.sadd(key, request)
        pipe.expire(key, KEEP_S)
        added, _ = await pipe.execute()
        return bool(added)

    async def advance(self, escalation: Escalation) -> bool:
        """Record the next level to fire, unless the escalation was stopped meanwhile (then False)."""
        key = self._key(escalation.incident_id)
        return bool(await self._redis.eval(_ADVANCE, 1, key, str(escalation.next_level)))

    async def load(self, incident_id: str) -> Escalation | None:
        raw = await self._redis.hgetall(self._key(incident_id))
        if not raw.get("started_at"):
            return None
        return Escalation(
            incident_id=incident_id,
            policy=str(raw["policy"]),
            started_at=dt.datetime.fromisoformat(str(raw["started_at"])),
            next_level=int(raw["next_level"]),
            stopped=str(raw.get("stopped") or "") or None,
        )

    async def stop(self, incident_id: str, reason: str) -> Escalation | None:
        """Stop an escalation for good (acknowledged, resolved); None when there was none running."""
        current = await self.load(incident_id)
        await self._redis.zrem(self._due, incident_id)
        if current is None or current.stopped:
            return None
        await self._redis.hset(self._key(incident_id), "stopped", reason)
        return current

    async def schedule(self, incident_id: str, when: dt.datetime | None) -> None:
        """Set when the next level is due; None means the escalation has nothing left to fire."""
        if when is None:
            await self._redis.zrem(self._due, incident_id)
        else:
            await self._redis.zadd(self._due, {incident_id: when.timestamp()})

    async def claim_due(self, now: dt.datetime, limit: int = 100) -> list[str]:
        """Incidents whose next level is due, each claimed by this replica for a lease, earliest first."""
        due = [str(i) for i in await self._redis.zrangebyscore(self._due, "-inf", now.timestamp(), start=0, num=limit)]
        lease = now.timestamp() + LEASE_S
        return [i for i in due if await self._redis.eval(_CLAIM, 1, self._due, i, now.timestamp(), lease)]

    async def pending(self) -> dict[str, float]:
        """Every scheduled timer (incident -> due epoch seconds), for status and tests."""
        timers = cast("list[tuple[str, float]]", await self._redis.zrange(self._due, 0, -1, withscores=True))
        return dict(timers)
