"""The shared numbers behind the blast-radius limits, in Redis so every replica counts the same: actions taken
(for the rate limit), when each target was last acted on (cooldowns), and one lock per target (one remediation
of a target at a time, across replicas; it expires, so a crashed replica's lock lapses).

Reservations are made before the decision (limits.py) and released when it refuses, so two replicas racing
for the last unit of a budget cannot both get it.
"""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace

_RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def _when(score: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(score, dt.UTC)


class LimitStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = KeySpace(keys("remediator"))

    async def reserve_action(self, action_id: str, now: dt.datetime, window_s: float) -> list[dt.datetime]:
        """Record an action about to be taken; the times of all actions in the window, this one included."""
        key = self._key("actions")
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now.timestamp() - window_s)
        pipe.zadd(key, {action_id: now.timestamp()})
        pipe.zrange(key, 0, -1, withscores=True)
        pipe.expire(key, int(window_s) + 60)
        _, _, taken, _ = await pipe.execute()
        return [_when(score) for _, score in taken]

    async def release_action(self, action_id: str) -> None:
        await self._redis.zrem(self._key("actions"), action_id)

    async def last_acted(self, target: str) -> dt.datetime | None:
        raw = await self._redis.get(self._key("acted", target))
        return _when(float(raw)) if raw else None

    async def mark_acted(self, target: str, now: dt.datetime, cooldown_s: float) -> None:
        if cooldown_s > 0:
            await self._redis.set(self._key("acted", target), str(now.timestamp()), px=int(cooldown_s * 1000))

    async def lock_target(self, target: str, run_id: str, ttl_s: float) -> str | None:
        """Take the target's lock for this run; the run holding it, if another does."""
        key = self._key("lock", target)
        if await self._redis.set(key, run_id, nx=True, px=int(ttl_s * 1000)):
            return None
        holder = await self._redis.get(key)
        if holder == run_id:
            await self.renew_lock(target, run_id, ttl_s)
            return None
        return str(holder) if holder else None

    async def renew_lock(self, target: str, run_id: str, ttl_s: float) -> bool:
        return bool(await self._redis.eval(_RENEW_IF_OURS, 1, self._key("lock", target), run_id, int(ttl_s * 1000)))

    async def release_lock(self, target: str, run_id: str) -> None:
        await self._redis.eval(_RELEASE_IF_OURS, 1, self._key("lock", target), run_id)
