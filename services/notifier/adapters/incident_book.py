"""What the notifier remembers about each incident, in Redis so replicas share it and a restart keeps it:
the latest incident notification (what escalations and acknowledgements are rendered from), whether the
incident is silenced, and which channels have heard of it (a resolution or a remediation step goes to every
channel that heard the incident, even one that only an escalation brought in).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from healer_common.contract.incidents import Incident
from healer_common.contract.notifications import Notification
from healer_common.runtime.leadership import Leases
from healer_common.runtime.state import KeySpace

KEEP_S = 30 * 86_400
LOCK_S = 15.0  # renewed while a delivery lasts: a replica that dies delivering holds the incident this long
LOCK_WAIT_S = 20.0


class IncidentBook:
    def __init__(self, redis: Redis, keys: KeySpace, holder: str = "notifier") -> None:
        self._redis = redis
        self._keys = keys
        self._leases = Leases(redis, keys, holder)

    def _key(self, incident_id: str, part: str) -> str:
        return self._keys("notifier", "incident", incident_id, part)

    @contextlib.asynccontextmanager
    async def lock(self, incident_id: str) -> AsyncIterator[None]:
        """One delivery per incident at a time, across consumers and replicas: a Slack root is posted once,
        a GitHub issue opened once, and the thread keeps the order in which the notifications were handled.

        A fenced lease (runtime/leadership.py), renewed while the delivery lasts: each channel's send is checked
        against it (dispatch.py), so a replica that stalled while delivering and woke up after another took the
        incident over sends nothing twice (LeaseHeld, a Retryable, when another replica keeps it too long)."""
        async with self._leases.held(f"notifier/incident/{incident_id}", LOCK_S, wait_s=LOCK_WAIT_S):
            yield

    async def remember(self, incident: Incident, note: Notification) -> None:
        """Every revision, told or not: a later remediation step or acknowledgement needs the incident."""
        key = self._key(incident.incident_id, "state")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"note": note.model_dump_json(), "silenced": int(incident.silenced)})
            pipe.expire(key, KEEP_S)
            await pipe.execute()

    async def note(self, incident_id: str) -> Notification | None:
        raw = await self._redis.hget(self._key(incident_id, "state"), "note")
        return Notification.model_validate_json(raw) if raw else None

    async def silenced(self, incident_id: str) -> bool:
        return await self._redis.hget(self._key(incident_id, "state"), "silenced") == "1"

    async def heard(self, incident_id: str, channels: list[str]) -> None:
        if channels:
            key = self._key(incident_id, "heard")
            await self._redis.sadd(key, *channels)
            await self._redis.expire(key, KEEP_S)

    async def heard_by(self, incident_id: str) -> set[str]:
        return {str(name) for name in await self._redis.smembers(self._key(incident_id, "heard"))}
