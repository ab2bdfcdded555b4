"""Anomaly baselines in Redis (`detector:baselines`, field = series, value = the scorer's state as JSON):
saved every minute and at shutdown, read back at start, so a week of learning survives a restart or a move
to another replica instead of starting cold.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace


class BaselineStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = keys("detector", "baselines")

    async def load(self) -> dict[str, dict[str, Any]]:
        raw = await self._redis.hgetall(self._key)
        return {str(series): json.loads(state) for series, state in raw.items()}

    async def save(self, states: dict[str, dict[str, Any]]) -> None:
        if states:
            await self._redis.hset(self._key, mapping={k: json.dumps(v) for k, v in states.items()})
