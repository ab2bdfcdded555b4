"""Agent workflows in Redis, shared by detector replicas and kept across restarts.

One key per workflow (`detector:workflow:<cluster>/task/<id>` or `.../pr/<owner/repo#n>`, the TaskWorkflow as
JSON, kept `KEEP_S` after its last change), and one sorted set of timers (`detector:workflow_due`, member the
workflow key, score its due time) that the periodic evaluation claims the way watch_store.py claims watches: a
replica wins a timer by removing it, and puts it back `LEASE_S` later in case it dies before saving.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from healer_common.runtime.ordering import KeyedSequencer
from healer_common.runtime.state import KeySpace
from services.detector.workflow_facts import TaskWorkflow

KEEP_S = 7 * 86_400
DUE_BATCH = 200
LEASE_S = 30.0


class WorkflowStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._due = keys("detector", "workflow_due")
        self._turns = KeyedSequencer()

    def _key(self, workflow_key: str) -> str:
        return self._keys("detector", "workflow", workflow_key)

    @asynccontextmanager
    async def locked(self, workflow_key: str) -> AsyncIterator[None]:
        """One evaluation per workflow at a time in this process (a PR event, a pod event and a timer)."""
        async with self._turns.turn(workflow_key):
            yield

    async def get(self, workflow_key: str) -> TaskWorkflow | None:
        raw = await self._redis.get(self._key(workflow_key))
        return TaskWorkflow.model_validate_json(raw) if raw else None

    async def save(self, workflow_key: str, workflow: TaskWorkflow | None, due: dt.datetime | None) -> None:
        pipe = self._redis.pipeline(transaction=True)
        if workflow is None:
            pipe.delete(self._key(workflow_key))
        else:
            pipe.set(self._key(workflow_key), workflow.model_dump_json(), ex=KEEP_S)
        if due is None or workflow is None:
            pipe.zrem(self._due, workflow_key)
        else:
            pipe.zadd(self._due, {workflow_key: due.timestamp()})
        await pipe.execute()

    async def claim_due(self, now: dt.datetime) -> list[str]:
        members = await self._redis.zrangebyscore(self._due, "-inf", now.timestamp(), start=0, num=DUE_BATCH)
        won = []
        for member in members:
            if await self._redis.zrem(self._due, str(member)):
                await self._redis.zadd(self._due, {str(member): now.timestamp() + LEASE_S})
                won.append(str(member))
        return won
