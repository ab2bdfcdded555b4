"""Watches of held conditions, in Redis: shared by detector replicas and kept across restarts.

One hash per object (`detector:watch:<cluster>/<Kind>/<ns>/<name>`, field = fingerprint, value = the watch
as JSON), so a recovery finds every watch of its object in one read; and one sorted set of timers
(`detector:due`, member `<object key>|<fingerprint>`, score = due time) that the periodic evaluation reads.
A replica claims a due timer by removing it (ZREM returns 1 to one replica only), so two replicas never
fire the same watch twice, and puts it back `LEASE_S` later: if the replica dies before saving the watch's
next timer, another replica takes the timer up then. The alert's stable event id covers the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from healer_common.runtime.ordering import KeyedSequencer
from healer_common.runtime.state import KeySpace
from services.detector.held_conditions import Watch

DUE_BATCH = 500
LEASE_S = 30.0


class WatchStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._due = keys("detector", "due")
        self._turns = KeyedSequencer()

    def _key(self, object_key: str) -> str:
        return self._keys("detector", "watch", object_key)

    @asynccontextmanager
    async def locked(self, object_key: str) -> AsyncIterator[None]:
        """One evaluation per object at a time in this process (an event and its timer never interleave)."""
        async with self._turns.turn(object_key):
            yield

    async def of_object(self, object_key: str) -> list[Watch]:
        raw = await self._redis.hgetall(self._key(object_key))
        return [Watch.model_validate_json(v) for v in raw.values()]

    async def one(self, object_key: str, fingerprint: str) -> Watch | None:
        raw = await self._redis.hget(self._key(object_key), fingerprint)
        return Watch.model_validate_json(raw) if raw else None

    async def save(self, object_key: str, changes: dict[str, Watch | None], due: dict[str, dt.datetime | None]) -> None:
        """Store changed watches and their timers in one round trip."""
        if not changes:
            return
        pipe = self._redis.pipeline(transaction=True)
        for fingerprint, watch in changes.items():
            member = f"{object_key}|{fingerprint}"
            if watch is None:
                pipe.hdel(self._key(object_key), fingerprint)
            else:
                pipe.hset(self._key(object_key), fingerprint, watch.model_dump_json())
            when = due.get(fingerprint)
            if when is None:
                pipe.zrem(self._due, member)
            else:
                pipe.zadd(self._due, {member: when.timestamp()})
        await pipe.execute()

    async def claim_due(self, now: dt.datetime) -> list[tuple[str, str]]:
        """Timers due by `now` that this replica won, as (object key, fingerprint)."""
        members = await self._redis.zrangebyscore(self._due, "-inf", now.timestamp(), start=0, num=DUE_BATCH)
        won = []
        for member in members:
            if await self._redis.zrem(self._due, str(member)):
                await self._redis.zadd(self._due, {str(member): now.timestamp() + LEASE_S})
                object_key, _, fingerprint = str(member).rpartition("|")
                won.append((object_key, fingerprint))
        return won
