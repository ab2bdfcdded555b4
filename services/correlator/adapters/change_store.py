"""Recent changes and what each app runs where, in Redis.

correlator:changes:<cluster>  zset  ChangeRecord JSON -> epoch seconds it happened (the latest KEEP)
correlator:app:<app key>      hash  "version:<cluster>" -> last version deployed there,
                                    "firing:<cluster>" -> JSON list of alert ids firing for it there
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping

from redis.asyncio import Redis

from healer_common.runtime.leadership import Command
from healer_common.runtime.state import KeySpace
from services.correlator.changes import ChangeRecord
from services.correlator.environments import AppView

KEEP = 10_000
"""Changes kept per cluster, newest by time: days of deploys, and a replayed history is not cut short."""


class ChangeStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys

    def _changes(self, cluster: str) -> str:
        return self._keys("correlator", "changes", cluster)

    def _app(self, app: str) -> str:
        return self._keys("correlator", "app", app)

    async def add(self, change: ChangeRecord) -> bool:
        """Keep a change; False when it was already kept (a redelivery)."""
        key = self._changes(change.cluster)
        at = change.at.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {change.model_dump_json(): at}, nx=True)
            pipe.zremrangebyrank(key, 0, -KEEP - 1)
            anchor = change.anchor
            if change.what == "deploy" and change.to_version and anchor is not None and anchor.app_key:
                pipe.hset(self._app(anchor.app_key), f"version:{change.cluster}", change.to_version)
            added, *_ = await pipe.execute()
        return bool(added)

    async def between(self, cluster: str, start: dt.datetime, end: dt.datetime) -> list[ChangeRecord]:
        raw = await self._redis.zrangebyscore(self._changes(cluster), start.timestamp(), end.timestamp())
        return [ChangeRecord.model_validate_json(str(r)) for r in raw]

    async def apps(self, apps: Iterable[str]) -> dict[str, AppView]:
        wanted = sorted(set(apps))
        if not wanted:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for app in wanted:
                pipe.hgetall(self._app(app))
            found = await pipe.execute()
        return {app: _view(fields) for app, fields in zip(wanted, found, strict=True) if fields}

    def firing_writes(self, cluster: str, firing: Mapping[str, list[str]]) -> list[Command]:
        """`set_firing` as commands, for the correlator's one fenced write per batch."""
        return [("HSET", self._app(app), f"firing:{cluster}", json.dumps(ids)) for app, ids in sorted(firing.items())]


def _view(fields: Mapping[str, str]) -> AppView:
    versions, firing = {}, {}
    for name, value in fields.items():
        kind, _, cluster = name.partition(":")
        if kind == "version":
            versions[cluster] = value
        elif kind == "firing":
            firing[cluster] = json.loads(value)
    return AppView(versions=versions, firing=firing)
