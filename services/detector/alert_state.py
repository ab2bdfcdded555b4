"""Which alerts are firing, per object, in Redis: shared by detector replicas and kept across restarts.

Stored as one hash per object (`detector:active:<cluster>/<Kind>/<ns>/<name>`, field = fingerprint), so a
recovery condition finds every alert of the object in one read.
"""

from __future__ import annotations

from redis.asyncio import Redis

from healer_common.alerts import Alert
from healer_common.state import KeySpace


class ActiveAlerts:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, object_key: str) -> str:
        return self._keys("detector", "active", object_key)

    async def of_object(self, object_key: str) -> list[Alert]:
        raw = await self._redis.hgetall(self._key(object_key))
        return [Alert.model_validate_json(v) for v in raw.values()]

    async def record(self, object_key: str, alert: Alert) -> None:
        if alert.firing:
            await self._redis.hset(self._key(object_key), alert.fingerprint, alert.model_dump_json())
        else:
            await self._redis.hdel(self._key(object_key), alert.fingerprint)
