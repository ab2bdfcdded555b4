"""Anomaly baselines in Redis (`detector:baselines`, field = series, value = the scorer's state as JSON), as
detectors before partitioned checkpoints saved them: read when a partition starts without a checkpoint it can
use (the first start after an upgrade), so a week of learning is not lost to it. Partitions' checkpoints
(checkpoint.py) carry baselines since.
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
