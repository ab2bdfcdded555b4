"""Each playbook's track record in Redis (successes and failures of verified, non-dry runs), from which its
Beta confidence is read: shown by `healer playbooks list`, carried on each Remediation it runs.
"""

from __future__ import annotations

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.remediator.confidence import Confidence


class TrackRecord:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._key = keys("remediator", "confidence")

    async def record(self, playbook: str, succeeded: bool) -> None:
        await self._redis.hincrby(self._key, f"{playbook}|{'ok' if succeeded else 'failed'}", 1)

    async def all(self) -> dict[str, Confidence]:
        counts: dict[str, dict[str, int]] = {}
        for field, value in (await self._redis.hgetall(self._key)).items():
            name, _, kind = str(field).rpartition("|")
            counts.setdefault(name, {})[kind] = int(value)
        return {name: Confidence(c.get("ok", 0), c.get("failed", 0)) for name, c in counts.items()}

    async def of(self, playbook: str) -> Confidence:
        ok, failed = await self._redis.hmget(self._key, f"{playbook}|ok", f"{playbook}|failed")
        return Confidence(int(ok or 0), int(failed or 0))
