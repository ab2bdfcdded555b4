"""Open incidents in Redis, one per group key, so correlator replicas share them and a restart loses none.

`locked(group_key)` serialises replicas on one group (a Redis lock with expiry); `open_incidents` is what
`healer status` shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from healer_common.incidents import Incident
from healer_common.state import KeySpace

LOCK_TIMEOUT_S = 10.0


def open_incidents_key(keys: KeySpace) -> str:
    return keys("correlator", "open")


class IncidentStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    @asynccontextmanager
    async def locked(self, group_key: str) -> AsyncIterator[None]:
        async with self._redis.lock(
            self._keys("correlator", "lock", group_key),
            timeout=LOCK_TIMEOUT_S,
            blocking_timeout=LOCK_TIMEOUT_S,
        ):
            yield

    async def get(self, group_key: str) -> Incident | None:
        raw = await self._redis.hget(open_incidents_key(self._keys), group_key)
        return Incident.model_validate_json(raw) if raw else None

    async def save(self, incident: Incident) -> None:
        key = open_incidents_key(self._keys)
        if incident.state == "resolved":
            await self._redis.hdel(key, incident.group_key)
        else:
            await self._redis.hset(key, incident.group_key, incident.model_dump_json())


async def open_incidents(redis: Redis, keys: KeySpace) -> list[Incident]:
    raw = await redis.hgetall(open_incidents_key(keys))
    return sorted((Incident.model_validate_json(v) for v in raw.values()), key=lambda i: i.opened_at)
