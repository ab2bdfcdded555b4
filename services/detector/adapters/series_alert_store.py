"""Alerts that metric rules have firing, in Redis (`detector:series-alerts`, field = fingerprint): written at
each fire and resolve only (never per sample), read back at start so a restarted detector resolves what it
fired before instead of leaving it firing forever.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from healer_common.contract.alerts import Alert
from healer_common.runtime.state import KeySpace


class FiringSeriesAlerts:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = keys("detector", "series-alerts")

    async def load(self) -> list[Alert]:
        raw = await self._redis.hgetall(self._key)
        return [Alert.model_validate_json(v) for v in raw.values()]

    async def record(self, alerts: Iterable[Alert]) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for alert in alerts:
            if alert.firing:
                pipe.hset(self._key, alert.fingerprint, alert.model_dump_json())
            else:
                pipe.hdel(self._key, alert.fingerprint)
        if len(pipe):
            await pipe.execute()
