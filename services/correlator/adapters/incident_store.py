"""Open incidents in Redis, so correlator replicas share them and a restart loses none. Each incident is kept
in parts, so that a batch writes what changed and not the whole incident again:

correlator:open                       hash  incident id -> its header: the incident with its primary alert only,
                                            its counts and the changes not yet published
                                            (runtime/status.py: `healer status`, the API)
correlator:counts                     hash  incident id -> its severity and firing alerts by severity (the gauges)
correlator:alerts:<incident id>       hash  fingerprint -> AlertSummary JSON: every alert of the incident
correlator:timeline:<incident id>     list  TimelineEntry JSON, the newest revision.MAX_TIMELINE
correlator:notify                     hash  incident id -> NotifyState JSON (what was published and told, when)
correlator:due                        zset  "<cluster>/<incident id>" -> when the timer should look again
correlator:index:<cluster>:<field>    set   incident ids (grouping.summary_fields: how an alert finds its incident)
correlator:closed:<fingerprint>       str   starts_at of the alert's last resolved firing (a week), so a
                                            redelivered firing cannot reopen what is over

Reads are plain; writes are returned as commands for the cluster's lease to apply fenced (runtime/leadership.py),
so a correlator that lost its lease changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Sequence

from redis.asyncio import Redis

from healer_common.contract.incidents import AlertSummary, Incident, TimelineEntry
from healer_common.runtime.leadership import Command
from healer_common.runtime.state import KeySpace
from healer_common.runtime.status import (
    incident_alerts_key,
    incident_timeline_key,
    open_counts_key,
    open_incidents_key,
)
from services.correlator.folding import Unsaved
from services.correlator.grouping import GroupingPolicy, summary_fields
from services.correlator.notify_timing import NotifyState
from services.correlator.revision import MAX_TIMELINE

CLOSED_TTL_S = 7 * 86_400
_LOOKUP = """
local fields = tonumber(ARGV[1])
local found = {}
for i, key in ipairs(KEYS) do
  local value
  if i <= fields then
    value = redis.call('SMEMBERS', key)
    if #value == 0 then value = nil end
  else
    value = redis.call('GET', key)
  end
  if value then
    found[#found + 1] = i
    found[#found + 1] = value
  end
end
return found
"""


def due_member(incident: Incident) -> str:
    return f"{incident.cluster}/{incident.incident_id}"


def header_of(incident: Incident) -> Incident:
    """The incident as `correlator:open` keeps it: its primary alert and counts, not every alert."""
    return incident.model_copy(
        update={
            "alerts": [incident.primary],
            "timeline": [],
            "alert_count": len(incident.alerts),
            "firing_count": len(incident.firing_alerts),
        }
    )


def counts_of(incident: Incident) -> tuple[str, Counter[str]]:
    """What `correlator:counts` keeps of an incident: its severity and its firing alerts by severity."""
    return incident.severity, Counter(a.severity for a in incident.firing_alerts)


def _counts_entry(incident: Incident) -> str:
    severity, firing = counts_of(incident)
    return json.dumps({"severity": severity, "firing": dict(sorted(firing.items()))})


class IncidentStore:
    def __init__(self, redis: Redis, keys: KeySpace) -> None:
        self._redis = redis
        self._keys = keys
        self._open = open_incidents_key(keys)
        self._counts = open_counts_key(keys)
        self._notify = keys("correlator", "notify")
        self._due = keys("correlator", "due")
        self._lookup = redis.register_script(_LOOKUP)

    def _index(self, cluster: str, field: str) -> str:
        return self._keys("correlator", "index", cluster, field)

    def _closed(self, fingerprint: str) -> str:
        return self._keys("correlator", "closed", fingerprint)

    def _alerts(self, incident_id: str) -> str:
        return incident_alerts_key(self._keys, incident_id)

    def _timeline(self, incident_id: str) -> str:
        return incident_timeline_key(self._keys, incident_id)

    # reads -------------------------------------------------------------------------------------------------------
    async def lookup(
        self, cluster: str, fields: Sequence[str], fingerprints: Sequence[str]
    ) -> tuple[dict[str, set[str]], dict[str, dt.datetime | None]]:
        """In one round trip: the incident ids each index field points at, and each fingerprint's last closing.
        One script answering only what exists: a storm's batch asks about a thousand new fingerprints, and as
        many commands (each packed, sent and its empty answer parsed) cost the correlator a tenth of its CPU."""
        if not fields and not fingerprints:
            return {}, {}
        keys = [self._index(cluster, f) for f in fields] + [self._closed(fp) for fp in fingerprints]
        flat = await self._lookup(keys=keys, args=[len(fields)])
        members: dict[str, set[str]] = {field: set() for field in fields}
        closings: dict[str, dt.datetime | None] = dict.fromkeys(fingerprints)
        for position, found in zip(flat[::2], flat[1::2], strict=True):
            n = int(position) - 1
            if n < len(fields):
                members[fields[n]] = {str(i) for i in found}
            else:
                closings[fingerprints[n - len(fields)]] = dt.datetime.fromisoformat(str(found))
        return members, closings

    async def load(self, incident_ids: Iterable[str]) -> dict[str, tuple[Incident, NotifyState]]:
        """Whole incidents (every alert, the timeline) with their notify state; ids no longer open are left out."""
        wanted = sorted(set(incident_ids))
        if not wanted:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for incident_id in wanted:
                pipe.hget(self._open, incident_id)
                pipe.hvals(self._alerts(incident_id))
                pipe.lrange(self._timeline(incident_id), 0, -1)
                pipe.hget(self._notify, incident_id)
            raw = await pipe.execute()
        found = {}
        for n, incident_id in enumerate(wanted):
            header, alerts, timeline, state = raw[4 * n : 4 * n + 4]
            if not header or not alerts:
                continue
            incident = Incident.model_validate_json(header)
            summaries = sorted(
                (AlertSummary.model_validate_json(a) for a in alerts), key=lambda a: (a.starts_at, a.fingerprint)
            )
            entries = [TimelineEntry.model_validate_json(e) for e in timeline]
            whole = incident.model_copy(update={"alerts": summaries, "timeline": entries})
            notify = NotifyState.model_validate_json(state) if state else NotifyState(opened_at=incident.opened_at)
            found[incident_id] = (whole, notify)
        return found

    async def headers(self) -> list[Incident]:
        """Every open incident's header (primary alert and counts), oldest first."""
        raw = await self._redis.hgetall(self._open)
        return sorted((Incident.model_validate_json(v) for v in raw.values()), key=lambda i: i.opened_at)

    async def due(self, now: dt.datetime) -> list[tuple[str, str]]:
        """(cluster, incident id) of incidents whose next look has come."""
        members = [str(m) for m in await self._redis.zrangebyscore(self._due, "-inf", now.timestamp())]
        return [(cluster, incident_id) for cluster, _, incident_id in (m.partition("/") for m in members)]

    async def next_due(self, after: dt.datetime) -> dt.datetime | None:
        """The next time after `after` the timer should look at some incident (None: nothing scheduled)."""
        first = await self._redis.zrangebyscore(self._due, f"({after.timestamp()}", "+inf", 0, 1, withscores=True)
        return dt.datetime.fromtimestamp(float(first[0][1]), dt.UTC) if first else None

    # writes ------------------------------------------------------------------------------------------------------
    def save(self, incident: Incident, state: NotifyState, due: dt.datetime | None, unsaved: Unsaved) -> list[Command]:
        """What changed in an open incident since it was last written."""
        incident_id, cluster = incident.incident_id, incident.cluster
        commands: list[Command] = [
            ("HSET", self._open, incident_id, header_of(incident).model_dump_json()),
            ("HSET", self._counts, incident_id, _counts_entry(incident)),
            ("HSET", self._notify, incident_id, state.model_dump_json()),
            ("ZADD", self._due, str(due.timestamp()), due_member(incident))
            if due is not None
            else ("ZREM", self._due, due_member(incident)),
        ]
        by_fp = {a.fingerprint: a for a in incident.alerts}
        pairs = [x for fp in sorted(unsaved.alerts) if fp in by_fp for x in (fp, by_fp[fp].model_dump_json())]
        if pairs:
            commands.append(("HSET", self._alerts(incident_id), *pairs))
        if unsaved.timeline:
            timeline = self._timeline(incident_id)
            commands.append(("RPUSH", timeline, *(e.model_dump_json() for e in unsaved.timeline)))
            commands.append(("LTRIM", timeline, str(-MAX_TIMELINE), "-1"))
        commands += [("SADD", self._index(cluster, field), incident_id) for field in sorted(unsaved.fields)]
        return commands

    def close(self, incident: Incident, policy: GroupingPolicy) -> list[Command]:
        """A resolved incident leaves the open set, its index and timers; its alerts' firings are closed."""
        incident_id, cluster = incident.incident_id, incident.cluster
        fields = set().union(*(summary_fields(a, cluster, policy) for a in incident.alerts))
        commands: list[Command] = [
            ("HDEL", self._open, incident_id),
            ("HDEL", self._counts, incident_id),
            ("HDEL", self._notify, incident_id),
            ("DEL", self._alerts(incident_id), self._timeline(incident_id)),
            ("ZREM", self._due, due_member(incident)),
        ]
        commands += [("SREM", self._index(cluster, field), incident_id) for field in sorted(fields)]
        commands += [
            ("SET", self._closed(a.fingerprint), a.starts_at.isoformat(), "EX", str(CLOSED_TTL_S))
            for a in incident.alerts
        ]
        return commands

    def unschedule(self, cluster: str, incident_ids: set[str]) -> list[Command]:
        """Timers of incidents no longer open (closed by another writer, or lost in a crash)."""
        return [("ZREM", self._due, *(f"{cluster}/{i}" for i in sorted(incident_ids)))] if incident_ids else []
