"""`healer_incidents_open` and `healer_alerts_active`, counted from what the correlator keeps in Redis.

Counting firing alerts by severity once meant reading every open incident's alerts: a third of the correlator's
CPU in a 10,000-alert storm when it validated them all each heartbeat, and still a tenth of a second of it after
each wave of a storm when it read the changed ones as plain JSON. The correlator now writes each incident's
counts beside its header whenever it saves it (`correlator:counts`, incident_store.counts_of), and this reads
that one hash. An open incident without counts (kept by a correlator from before them) is read whole and
counted as the correlator would count it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import cast

from redis.asyncio import Redis

from healer_common.runtime import metrics
from healer_common.runtime.state import KeySpace
from healer_common.runtime.status import open_counts_key, open_incident, open_incidents_key
from services.correlator.adapters.incident_store import counts_of

Counts = tuple[str, Counter[str]]
"""An incident's severity and its firing alerts by severity (incident_store.counts_of)."""


class OpenCounts:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    async def refresh(self) -> tuple[Counter[str], Counter[str]]:
        """Read the counts, set the gauges; (open incidents, firing alerts), each by severity."""
        # the services' Redis client decodes responses (state.connect_redis): field names and values are str
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hkeys(open_incidents_key(self._keys))
            pipe.hgetall(open_counts_key(self._keys))
            opened, written = cast(tuple[list[str], dict[str, str]], tuple(await pipe.execute()))
        found = {i: _parsed(written[i]) for i in opened if i in written}
        found |= await self._counted_whole([i for i in opened if i not in written])
        incidents = Counter(severity for severity, _ in found.values())
        alerts: Counter[str] = Counter()
        for _, firing in found.values():
            alerts.update(firing)
        metrics.open_counts(incidents, alerts)
        return incidents, alerts

    async def _counted_whole(self, incident_ids: list[str]) -> dict[str, Counts]:
        whole = [await open_incident(self._redis, self._keys, incident_id) for incident_id in incident_ids]
        return {incident.incident_id: counts_of(incident) for incident in whole if incident is not None}


def _parsed(raw: str) -> Counts:
    data = json.loads(raw)
    return data["severity"], Counter(data["firing"])
