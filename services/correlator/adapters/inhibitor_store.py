"""The firing alerts that can mute others (sources of an inhibition rule), per cluster, in Redis:

    correlator:inhibitors:<cluster>  hash  fingerprint -> labels JSON

Only source alerts are kept, so the set stays small and every alert can be checked against all of them.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from healer_common.contract.alerts import Alert
from healer_common.contract.messages import Labels
from healer_common.runtime.state import KeySpace


class InhibitorStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, cluster: str) -> str:
        return self._keys("correlator", "inhibitors", cluster)

    async def firing(self, cluster: str) -> dict[str, Labels]:
        raw = await self._redis.hgetall(self._key(cluster))
        return {str(fingerprint): json.loads(labels) for fingerprint, labels in raw.items()}

    async def track(self, alert: Alert) -> bool:
        """Add a firing source alert or drop a resolved one; True when the set changed."""
        key = self._key(alert.cluster)
        if alert.firing:
            return bool(await self._redis.hsetnx(key, alert.fingerprint, json.dumps(alert.labels)))
        return bool(await self._redis.hdel(key, alert.fingerprint))
