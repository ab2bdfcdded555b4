"""Each incident's Slack root message (channel id, ts and what it says), in Redis so every replica threads
under the same message and a restart does not start a second thread; and a short per-incident lock, so two
replicas handling two revisions of one incident at once do not both post a root.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import LockError

from healer_common.errors import Retryable
from healer_common.state import KeySpace
from services.notifier.channels.slack_messages import RootMessage

KEEP_S = 30 * 86_400
LOCK_S = 30.0
LOCK_WAIT_S = 10.0


class SlackRoots:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _key(self, incident_id: str, part: str = "root") -> str:
        return self._keys("notifier", "slack", part, incident_id)

    async def get(self, incident_id: str) -> RootMessage | None:
        raw = await self._redis.get(self._key(incident_id))
        return RootMessage(**json.loads(raw)) if raw else None

    async def put(self, root: RootMessage) -> None:
        await self._redis.set(self._key(root.incident_id), json.dumps(dataclasses.asdict(root)), ex=KEEP_S)

    @contextlib.asynccontextmanager
    async def lock(self, incident_id: str) -> AsyncIterator[None]:
        """Hold the incident's Slack thread; a replica that cannot get it in time asks for a redelivery."""
        try:
            async with self._redis.lock(self._key(incident_id, "lock"), timeout=LOCK_S, blocking_timeout=LOCK_WAIT_S):
                yield
        except LockError:
            raise Retryable(
                f"the Slack thread of incident {incident_id} is busy in another replica", delay=1.0
            ) from None
