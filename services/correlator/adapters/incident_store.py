"""Open incidents in Redis, so correlator replicas share them and a restart loses none.

correlator:open                 hash  incident id -> Incident JSON (runtime/status.py: `healer status`, the API)
correlator:notify               hash  incident id -> NotifyState JSON (what people were told, when)
correlator:due                  zset  "<cluster>/<incident id>" -> when the timer should look again
correlator:index:<cluster>      hash  grouping.index_fields -> incident id (how an alert finds its incident)
correlator:closed:<fingerprint> str   starts_at of the alert's last resolved firing (a week), so a
                                      redelivered firing cannot reopen what is over
correlator:lock:<cluster>       lock  one writer per cluster across replicas
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import Incident
from healer_common.runtime.state import KeySpace
from healer_common.runtime.status import open_incidents_key
from services.correlator.notify_timing import NotifyState

LOCK_TIMEOUT_S = 10.0  # an orphaned lock (a holder cancelled mid-acquire) frees itself within a shutdown grace
CLOSED_TTL_S = 7 * 86_400


def due_member(incident: Incident) -> str:
    return f"{incident.cluster}/{incident.incident_id}"


class IncidentStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._open = open_incidents_key(keys)
        self._notify = keys("correlator", "notify")
        self._due = keys("correlator", "due")

    def _index(self, cluster: str, field: str) -> str:
        return self._keys("correlator", "index", cluster, field)

    def _closed(self, fingerprint: str) -> str:
        return self._keys("correlator", "closed", fingerprint)

    @asynccontextmanager
    async def locked(self, cluster: str) -> AsyncIterator[None]:
        async with self._redis.lock(
            self._keys("correlator", "lock", cluster), timeout=LOCK_TIMEOUT_S, blocking_timeout=LOCK_TIMEOUT_S
        ):
            yield

    async def is_stale(self, alert: Alert) -> bool:
        """A firing alert whose very firing (same start) was already resolved and closed."""
        if not alert.firing:
            return False
        closed = await self._redis.get(self._closed(alert.fingerprint))
        return closed is not None and dt.datetime.fromisoformat(str(closed)) >= alert.starts_at

    async def lookup(self, cluster: str, fields: Sequence[str]) -> dict[str, list[Incident]]:
        """The open incidents each index field points at, oldest first."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for field in fields:
                pipe.smembers(self._index(cluster, field))
            members: list[set[str]] = await pipe.execute()
        wanted = sorted({str(i) for ids in members for i in ids})
        if not wanted:
            return {}
        bodies = await self._redis.hmget(self._open, wanted)
        incidents = {i: Incident.model_validate_json(b) for i, b in zip(wanted, bodies, strict=True) if b}
        return {
            field: sorted((incidents[i] for i in ids if i in incidents), key=lambda i: (i.opened_at, i.incident_id))
            for field, ids in zip(fields, members, strict=True)
            if any(i in incidents for i in ids)
        }

    async def get(self, incident_id: str) -> Incident | None:
        raw = await self._redis.hget(self._open, incident_id)
        return Incident.model_validate_json(raw) if raw else None

    async def all_open(self) -> list[Incident]:
        raw = await self._redis.hgetall(self._open)
        return sorted((Incident.model_validate_json(v) for v in raw.values()), key=lambda i: i.opened_at)

    async def notify_state(self, incident: Incident) -> NotifyState:
        raw = await self._redis.hget(self._notify, incident.incident_id)
        return NotifyState.model_validate_json(raw) if raw else NotifyState(opened_at=incident.opened_at)

    async def due(self, now: dt.datetime) -> list[tuple[str, str]]:
        """(cluster, incident id) of incidents whose notification time has come."""
        members = [str(m) for m in await self._redis.zrangebyscore(self._due, "-inf", now.timestamp())]
        return [(cluster, incident_id) for cluster, _, incident_id in (m.partition("/") for m in members)]

    async def save(
        self, incident: Incident, state: NotifyState, due: dt.datetime | None, fields: Sequence[str]
    ) -> None:
        if incident.state == "resolved":
            await self._close(incident, fields)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._open, incident.incident_id, incident.model_dump_json())
            pipe.hset(self._notify, incident.incident_id, state.model_dump_json())
            if due is None:
                pipe.zrem(self._due, due_member(incident))
            else:
                pipe.zadd(self._due, {due_member(incident): due.timestamp()})
            for field in fields:
                pipe.sadd(self._index(incident.cluster, field), incident.incident_id)
            await pipe.execute()

    async def _close(self, incident: Incident, fields: Sequence[str]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._open, incident.incident_id)
            pipe.hdel(self._notify, incident.incident_id)
            pipe.zrem(self._due, due_member(incident))
            for field in fields:
                pipe.srem(self._index(incident.cluster, field), incident.incident_id)
            for alert in incident.alerts:
                pipe.set(self._closed(alert.fingerprint), alert.starts_at.isoformat(), ex=CLOSED_TTL_S)
            await pipe.execute()
