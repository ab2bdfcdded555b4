"""Which notification went out on which channel, in Redis for a week: no duplicate after a redelivery."""

from __future__ import annotations

from redis.asyncio import Redis

from healer_common.state import KeySpace

KEEP_S = 7 * 86_400


class SentLog:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, notification_id: str, channel: str) -> str:
        return self._keys("notifier", "sent", notification_id, channel)

    async def was_sent(self, notification_id: str, channel: str) -> bool:
        return bool(await self._redis.exists(self._key(notification_id, channel)))

    async def mark_sent(self, notification_id: str, channel: str) -> None:
        await self._redis.set(self._key(notification_id, channel), "1", ex=KEEP_S)
