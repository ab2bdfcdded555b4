"""Remediations waiting for verification, in Redis: keyed by incident, so the incident's resolution (seen by
any replica) verifies them, and a restart forgets none.
"""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from healer_common.remediations import Remediation
from healer_common.state import KeySpace


class PendingVerifications:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = keys("remediator", "pending")

    async def put(self, remediation: Remediation) -> None:
        await self._redis.hset(self._key, remediation.incident_id, remediation.model_dump_json())

    async def get(self, incident_id: str) -> Remediation | None:
        raw = await self._redis.hget(self._key, incident_id)
        return Remediation.model_validate_json(raw) if raw else None

    async def remove(self, incident_id: str) -> bool:
        return bool(await self._redis.hdel(self._key, incident_id))

    async def older_than(self, cutoff: dt.datetime) -> list[Remediation]:
        raw = await self._redis.hgetall(self._key)
        runs = (Remediation.model_validate_json(v) for v in raw.values())
        return [r for r in runs if r.started_at < cutoff]
