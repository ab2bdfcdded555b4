"""The day's incidents, remediations and alerts as the notifier saw them, in Redis per UTC day, so the daily
digest is composed from what happened even across restarts and replicas. Incidents and runs keep their
latest revision; alerts are kept as first seen, predicted (label predicted="true") apart from real ones, so
a prediction is still known after the real alert replaced it in the incident. Kept a few days.

    <prefix>:notifier:journal:<YYYY-MM-DD>:incidents      hash incident id    -> Incident JSON
    <prefix>:notifier:journal:<YYYY-MM-DD>:remediations   hash remediation id -> Remediation JSON
    <prefix>:notifier:journal:<YYYY-MM-DD>:predicted      hash fingerprint    -> AlertSummary JSON
    <prefix>:notifier:journal:<YYYY-MM-DD>:fired          hash fingerprint    -> AlertSummary JSON
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.remediations import Remediation
from healer_common.runtime.state import KeySpace
from services.notifier.digest import Day

KEEP_S = 4 * 86_400
_KEEP_FIRST = """
for i = 1, #ARGV, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 0
"""
M = TypeVar("M", bound=BaseModel)


class Journal:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._keep_first = redis.register_script(_KEEP_FIRST)

    def _key(self, day: dt.date, family: str) -> str:
        return self._keys("notifier", "journal", day.isoformat(), family)

    async def record_incident(self, incident: Incident) -> None:
        await self.record_incidents([incident])

    async def record_incidents(self, incidents: list[Incident]) -> None:
        """Each revision, and the alerts it carries that are new to it, in the day it happened (one round trip
        for a batch). Alerts are kept as first seen, and an alert is first seen in the revision it joined or
        changed in (`changed`; every alert in a first revision): a storm's later revisions repeat the others."""
        first_seen: dict[str, list[str]] = {}  # key -> fingerprint, alert JSON, ...
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident in incidents:
                day = incident.time.date()
                pipe.hset(self._key(day, "incidents"), incident.incident_id, incident.model_dump_json())
                changed = set(incident.changed)
                for alert in incident.alerts:
                    if incident.revision > 1 and alert.fingerprint not in changed:
                        continue
                    family = "predicted" if alert.labels.get("predicted") == "true" else "fired"
                    first_seen.setdefault(self._key(day, family), []).extend(
                        (alert.fingerprint, alert.model_dump_json())
                    )
            for key, pairs in first_seen.items():  # one command per day and family, not one per alert
                await self._keep_first(keys=[key], args=pairs, client=pipe)
            for day in {i.time.date() for i in incidents}:
                for family in ("incidents", "predicted", "fired"):
                    pipe.expire(self._key(day, family), KEEP_S)
            await pipe.execute()

    async def record_remediation(self, run: Remediation) -> None:
        key = self._key(run.time.date(), "remediations")
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, run.remediation_id, run.model_dump_json())
            pipe.expire(key, KEEP_S)
            await pipe.execute()

    async def between(self, start: dt.datetime, end: dt.datetime) -> Day:
        """What was journaled on the days [start, end) touches (and the day before, for long incidents)."""
        days = [start.date() - dt.timedelta(days=1)]
        while days[-1] < end.date():
            days.append(days[-1] + dt.timedelta(days=1))
        incidents = await self._latest(days, "incidents", Incident, lambda i: i.incident_id, end)
        runs = await self._latest(days, "remediations", Remediation, lambda r: r.remediation_id, end)
        predicted = await self._latest(days, "predicted", AlertSummary, lambda a: a.fingerprint, end)
        fired = await self._latest(days, "fired", AlertSummary, lambda a: a.fingerprint, end)
        return Day(incidents, runs, predicted, fired)

    async def _latest(
        self, days: list[dt.date], family: str, model: type[M], key: Callable[[M], str], end: dt.datetime
    ) -> list[M]:
        found: dict[str, M] = {}
        for day in days:
            for raw in (await self._redis.hgetall(self._key(day, family))).values():
                item = model.model_validate_json(raw)
                if _when(item) < end and (key(item) not in found or _when(found[key(item)]) < _when(item)):
                    found[key(item)] = item
        return list(found.values())


def _when(item: BaseModel) -> dt.datetime:
    """Revision time of a message; first-fired time of an alert summary."""
    when = getattr(item, "time", None) or getattr(item, "starts_at", None)
    assert isinstance(when, dt.datetime)
    return when
