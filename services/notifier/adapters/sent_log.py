"""Which notification went out on which channel, and how it ended (delivered, or given up), in Redis for a week:
no duplicate after a redelivery, and no second try of what the receiver refused for good.
"""

from __future__ import annotations

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace

KEEP_S = 7 * 86_400


class SentLog:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, notification_id: str, channel: str) -> str:
        return self._keys("notifier", "sent", notification_id, channel)

    async def outcome(self, notification_id: str, channel: str) -> str | None:
        """`delivered` or `failed` once the channel is done with the notification; None while it is owed."""
        found = await self._redis.get(self._key(notification_id, channel))
        return None if found is None else "delivered" if found == "1" else str(found)

    async def mark(self, notification_id: str, channel: str, outcome: str) -> None:
        await self._redis.set(
            self._key(notification_id, channel), "1" if outcome == "delivered" else outcome, ex=KEEP_S
        )
