"""The firing alerts that can mute others (sources of an inhibition rule), per cluster, in Redis:

    correlator:inhibitors:<cluster>  hash  fingerprint -> labels JSON

Only source alerts are kept, so the set stays small and every alert can be checked against all of them.
"""

from __future__ import annotations

import json

from redis.asyncio import Redis

from healer_common.contract.messages import Labels
from healer_common.runtime.leadership import Command
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

    def writes(self, cluster: str, added: dict[str, Labels], removed: set[str]) -> list[Command]:
        """The changes to the cluster's sources a batch made, for its one fenced write."""
        key = self._key(cluster)
        commands: list[Command] = [("HSET", key, fp, json.dumps(labels)) for fp, labels in sorted(added.items())]
        if removed:
            commands.append(("HDEL", key, *sorted(removed)))
        return commands
