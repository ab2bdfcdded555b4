"""Watches of held conditions, in Redis: kept across restarts and handed on with their partition.

One hash per object (`detector:watch:<cluster>/<Kind>/<ns>/<name>`, field = fingerprint, value = the watch
as JSON, and field `~seq` = the stream sequence of the last event applied to it, so a replayed event is
applied once), so a recovery finds every watch of its object in one read; and per partition one sorted set of
timers (`detector:due:<partition>`, member `<object key>|<fingerprint>`, score = due time) that the replica
serving the partition reads. A due timer is claimed by removing it (ZREM returns 1 to one caller only) and
put back `LEASE_S` later: if the replica dies before saving the watch's next timer, whoever serves the
partition next takes the timer up then. The alert's stable event id covers the rest.
"""

from __future__ import annotations

import datetime as dt

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.detector.held_conditions import Watch

Saved = tuple[str, dict[str, Watch | None], dict[str, dt.datetime | None], int]
"""(object key, changed watches by fingerprint (None: gone), their timers, the sequence of the event applied)."""
DUE_BATCH = 500
LEASE_S = 30.0
APPLIED = "~seq"  # not a fingerprint (those are hex): the stream sequence of the last event applied
_DROP_EMPTY = """
if redis.call('HLEN', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  return redis.call('DEL', KEYS[1])
end
return 0
"""  # an object with no watch left keeps no hash (a replayed recovery finds none and does nothing)


class WatchStore:
    def __init__(self, redis: Redis, keys: KeySpace, partition: str) -> None:
        self._redis = redis
        self._keys = keys
        self._due = keys("detector", "due", partition)

    def _key(self, object_key: str) -> str:
        return self._keys("detector", "watch", object_key)

    async def of_objects(self, object_keys: list[str]) -> dict[str, tuple[list[Watch], int]]:
        """Each object's watches, and the stream sequence of the last event applied to them (0: none known), in
        one round trip (a storm's conditions are about thousands of pods)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for object_key in object_keys:
                pipe.hgetall(self._key(object_key))
            read = await pipe.execute()
        found = {}
        for object_key, raw in zip(object_keys, read, strict=True):
            applied = int(raw.pop(APPLIED, 0))
            found[object_key] = ([Watch.model_validate_json(v) for v in raw.values()], applied)
        return found

    async def one(self, object_key: str, fingerprint: str) -> Watch | None:
        raw = await self._redis.hget(self._key(object_key), fingerprint)
        return Watch.model_validate_json(raw) if raw else None

    async def save_many(self, saves: list[Saved]) -> None:
        """Store changed watches and their timers, with the sequence of the event applied, for many objects in one
        round trip; an object without changes writes nothing."""
        saves = [saved for saved in saves if saved[1]]
        if not saves:
            return
        pipe = self._redis.pipeline(transaction=True)
        for object_key, changes, due, seq in saves:
            if seq:
                pipe.hset(self._key(object_key), APPLIED, str(seq))
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
            if None in changes.values():
                pipe.eval(_DROP_EMPTY, 1, self._key(object_key), APPLIED)
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
