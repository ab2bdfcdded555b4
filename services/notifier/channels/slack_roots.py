"""Each incident's Slack root message (channel id, ts and what it says), in Redis so every replica threads
under the same message and a restart does not start a second thread. (Two replicas never post two roots:
flow.py delivers one incident's notifications under the incident's lock.)
"""

from __future__ import annotations

import dataclasses
import json

from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from services.notifier.channels.slack_messages import RootMessage

KEEP_S = 30 * 86_400


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
