"""The learned co-occurrence counts (cooccurrence.py) in Redis, shared by replicas and kept across restarts.

correlator:links:count           hash  alert type -> firing alerts seen
correlator:links:pairs           hash  "<A>|<B>" -> B alerts that had an A within the window before
correlator:links:span            hash  first, last -> epoch seconds of the earliest and latest alert seen
correlator:links:last:<cluster>  hash  alert type -> epoch seconds it last fired in the cluster
"""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.correlator.cooccurrence import Learned, Learning, LinkStats


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

    async def read_all(self, cluster: str) -> Learning:
        """Every count (a batch may hold any type) and when each type last fired in the cluster, ready for a
        batch to learn from. The pairs grow with the square of the alert types seen together, a few hundred
        entries in practice."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._count)
            pipe.hgetall(self._pairs)
            pipe.hmget(self._span, ["first", "last"])
            pipe.hgetall(self._last(cluster))
            counts, pair_counts, (first, last), seen = await pipe.execute()
        start, end = _time(first), _time(last)
        pairs = {}
        for name, count in pair_counts.items():
            cause, _, effect = str(name).partition("|")
            pairs[cause, effect] = int(count)
        stats = LinkStats(
            window=self._window,
            span=(end - start) if start and end else dt.timedelta(0),
            counts={str(k): int(c) for k, c in counts.items()},
            pairs=pairs,
        )
        last_seen = {str(k): dt.datetime.fromtimestamp(float(v), dt.UTC) for k, v in seen.items()}
        return Learning.start(stats, last_seen, start)

    def record_many(self, cluster: str, learned: Learned) -> list[tuple[str, ...]]:
        """The writes that add a batch's counts (for the correlator's one write per batch)."""
        writes: list[tuple[str, ...]] = []
        writes += [("HINCRBY", self._count, kind, str(n)) for kind, n in learned.counts.items()]
        writes += [("HINCRBY", self._pairs, _pair(a, b), str(n)) for (a, b), n in learned.pairs.items()]
        writes += [("HSET", self._last(cluster), kind, str(at.timestamp())) for kind, at in learned.last_seen.items()]
        if learned.first is not None and learned.last is not None:
            writes.append(("HSETNX", self._span, "first", str(learned.first.timestamp())))
            writes.append(("HSET", self._span, "last", str(learned.last.timestamp())))
        return writes
