"""`healer_incidents_open` and `healer_alerts_active`, counted from what the correlator keeps in Redis.

Counting firing alerts by severity means reading every open incident's alerts. Validating all of them as
models on every heartbeat took a third of the correlator's CPU in a 10,000-alert storm, so this reads only
the incidents whose header (which carries their counts, revision and time) changed since the last look, with
plain JSON, and reads everything again every `FULL_EVERY` looks in case an alert changed without its header.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import cast

from redis.asyncio import Redis

from healer_common.runtime import metrics
from healer_common.runtime.state import KeySpace
from healer_common.runtime.status import incident_alerts_key, open_incidents_key

FULL_EVERY = 12
"""Looks between two full reads (a minute at the default 5 s heartbeat)."""


class OpenCounts:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._known: dict[str, tuple[str, str, Counter[str]]] = {}  # id -> (header, severity, firing by severity)
        self._looks = 0

    async def refresh(self) -> tuple[Counter[str], Counter[str]]:
        """Read what changed, set the gauges; (open incidents, firing alerts), each by severity."""
        full = self._looks % FULL_EVERY == 0
        self._looks += 1
        # the services' Redis client decodes responses (state.connect_redis): field names and values are str
        headers = cast(dict[str, str], await self._redis.hgetall(open_incidents_key(self._keys)))
        stale = [i for i, header in headers.items() if full or self._known.get(i, ("",))[0] != header]
        fresh = set(headers) - set(stale)
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident_id in stale:
                pipe.hvals(incident_alerts_key(self._keys, incident_id))
            read = await pipe.execute() if stale else []
        known = {i: self._known[i] for i in fresh}
        for incident_id, summaries in zip(stale, read, strict=True):
            decoded = (json.loads(s) for s in summaries)
            firing = Counter(a["severity"] for a in decoded if a.get("status") == "firing")
            known[incident_id] = (headers[incident_id], json.loads(headers[incident_id])["severity"], firing)
        self._known = known
        incidents = Counter(severity for _, severity, _ in known.values())
        alerts: Counter[str] = Counter()
        for _, _, firing in known.values():
            alerts.update(firing)
        metrics.open_counts(incidents, alerts)
        return incidents, alerts
