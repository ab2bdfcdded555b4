"""The learned co-occurrence counts (cooccurrence.py) in Redis, shared by replicas and kept across restarts.

correlator:links:count           hash  alert type -> firing alerts seen
correlator:links:pairs           hash  "<A>|<B>" -> B alerts that had an A within the window before
correlator:links:span            hash  first, last -> epoch seconds of the earliest and latest alert seen
correlator:links:last:<cluster>  hash  alert type -> epoch seconds it last fired in the cluster
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.correlator.cooccurrence import LinkStats, followed

LastSeen = dict[str, dt.datetime]


def _pair(cause: str, effect: str) -> str:
    return f"{cause}|{effect}"


def _time(epoch: str | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(float(epoch), dt.UTC) if epoch else None


class LinkStore:
    def __init__(self, redis: Redis, keys: KeySpace, window: dt.timedelta) -> None:
        self._redis = redis
        self._keys = keys
        self._window = window
        self._count = keys("correlator", "links", "count")
        self._pairs = keys("correlator", "links", "pairs")
        self._span = keys("correlator", "links", "span")

    def _last(self, cluster: str) -> str:
        return self._keys("correlator", "links", "last", cluster)

    async def read(self, cluster: str, types: Iterable[str]) -> tuple[LinkStats, LastSeen]:
        """The counts among `types`, and when each type last fired in the cluster (for `record`)."""
        kinds = sorted(set(types))
        pairs = [(a, b) for a in kinds for b in kinds if a != b]
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self._count, kinds)
            pipe.hmget(self._pairs, [_pair(a, b) for a, b in pairs] or ["-"])
            pipe.hmget(self._span, ["first", "last"])
            pipe.hgetall(self._last(cluster))
            counts, pair_counts, (first, last), seen = await pipe.execute()
        start, end = _time(first), _time(last)
        stats = LinkStats(
            window=self._window,
            span=(end - start) if start and end else dt.timedelta(0),
            counts={k: int(c) for k, c in zip(kinds, counts, strict=True) if c},
            pairs={p: int(c) for p, c in zip(pairs, pair_counts, strict=False) if c},
        )
        return stats, {k: dt.datetime.fromtimestamp(float(v), dt.UTC) for k, v in seen.items()}

    async def record(self, cluster: str, kind: str, at: dt.datetime, last_seen: LastSeen) -> None:
        """Count one firing alert of `kind` at `at`, and a pair with each type seen just before it."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._count, kind, 1)
            for cause in followed(last_seen, kind, at, self._window):
                pipe.hincrby(self._pairs, _pair(cause, kind), 1)
            if kind not in last_seen or last_seen[kind] < at:
                pipe.hset(self._last(cluster), kind, at.timestamp())
            pipe.hsetnx(self._span, "first", at.timestamp())
            pipe.hset(self._span, "last", at.timestamp())
            await pipe.execute()
