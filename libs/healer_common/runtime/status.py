"""Healer's status read back from where the services leave it: heartbeats and cluster health in Redis, the open
incidents the correlator keeps there, the agent platform the remediator reports there, and NATS's JetStream
account. `healer status` and the read API
(`GET /api/v1/status`, the dashboard's health) both call `gather`, so they cannot disagree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterable

from pydantic import BaseModel, Field
from redis.asyncio import Redis

from healer_common.contract.agents import REPORT_KEY, AgentsReport
from healer_common.contract.health import ClusterHealth, Heartbeat
from healer_common.contract.incidents import AlertSummary, Incident, TimelineEntry
from healer_common.contract.views import Check, ServiceStatus, StatusReport
from healer_common.errors import Unreachable
from healer_common.logging import redact_url
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_cluster_health, read_heartbeats
from healer_common.runtime.state import KeySpace, reachable_redis
from healer_common.settings import SERVICES, Settings

NatsCheck = Callable[[], Awaitable[Check]]


def open_incidents_key(keys: KeySpace) -> str:
    """The hash (incident id -> the incident's header: its primary alert and counts) where the correlator keeps
    every open incident; its alerts and timeline are kept beside it (the keys below)."""
    return keys("correlator", "open")


def open_counts_key(keys: KeySpace) -> str:
    """The hash (incident id -> {"severity": the incident's, "firing": {severity: firing alerts}} JSON) the
    correlator writes beside every open incident's header: what the gauges count, without reading every alert."""
    return keys("correlator", "counts")


def incident_alerts_key(keys: KeySpace, incident_id: str) -> str:
    """The hash (fingerprint -> AlertSummary JSON) of every alert of an open incident."""
    return keys("correlator", "alerts", incident_id)


def incident_timeline_key(keys: KeySpace, incident_id: str) -> str:
    """The list of an open incident's newest TimelineEntry JSON."""
    return keys("correlator", "timeline", incident_id)


async def open_incidents(redis: Redis, keys: KeySpace) -> list[Incident]:
    """Every open incident with all its alerts (not its timeline), oldest first, in two round trips."""
    raw = await redis.hgetall(open_incidents_key(keys))
    return sorted(await _whole(redis, keys, raw.values(), timeline=False), key=lambda i: i.opened_at)


async def open_incident(redis: Redis, keys: KeySpace, incident_id: str) -> Incident | None:
    """One open incident whole (every alert, its timeline); None if it is not open."""
    header = await redis.hget(open_incidents_key(keys), incident_id)
    return next(iter(await _whole(redis, keys, [header], timeline=True)), None) if header else None


async def _whole(redis: Redis, keys: KeySpace, headers: Iterable[str | bytes], *, timeline: bool) -> list[Incident]:
    incidents = [Incident.model_validate_json(h) for h in headers]
    async with redis.pipeline(transaction=False) as pipe:
        for incident in incidents:
            pipe.hvals(incident_alerts_key(keys, incident.incident_id))
            if timeline:
                pipe.lrange(incident_timeline_key(keys, incident.incident_id), 0, -1)
        found = iter(await pipe.execute())
    whole = []
    for incident in incidents:
        alerts = [AlertSummary.model_validate_json(a) for a in next(found)]
        update: dict[str, object] = {"alerts": sorted(alerts, key=lambda a: (a.starts_at, a.fingerprint))}
        if timeline:
            update["timeline"] = [TimelineEntry.model_validate_json(e) for e in next(found)]
        whole.append(incident.model_copy(update=update) if alerts else incident)
    return whole


async def nats_check(settings: Settings) -> Check:
    """A fresh connection's view of NATS (the CLI has no other); URLs are shown without their credentials."""
    url = redact_url(settings.nats.url)
    try:
        async with asyncio.timeout(4), BusClient(settings, name="healer-status", connect_timeout=2.0) as bus:
            return Check(ok=True, url=url, detail=await bus.account_info())
    except Unreachable as exc:
        return Check(ok=False, url=url, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=url, error=redact_url(f"{type(exc).__name__}: {exc}"))


class _Stored(BaseModel):
    """What Redis holds for the status: heartbeats, cluster health, open incidents."""

    beats: list[Heartbeat] = Field(default_factory=list)
    clusters: list[ClusterHealth] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)
    agents: AgentsReport | None = None


async def agents_report(redis: Redis, keys: KeySpace) -> AgentsReport | None:
    """The remediator's last AgentsReport (kept for three of its intervals), if any."""
    raw = await redis.get(keys(*REPORT_KEY))
    return AgentsReport.model_validate_json(raw) if raw else None


async def _redis(settings: Settings, redis: Redis, with_incidents: bool) -> tuple[Check, _Stored]:
    url = redact_url(settings.redis.url)
    keys = KeySpace(settings.redis.key_prefix)
    try:
        await redis.ping()
        stored = _Stored(beats=await read_heartbeats(redis, keys), clusters=await read_cluster_health(redis, keys))
        if with_incidents:
            stored.incidents = await open_incidents(redis, keys)
            stored.agents = await agents_report(redis, keys)
        return Check(ok=True, url=url), stored
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=url, error=redact_url(f"{type(exc).__name__}: {exc}")), _Stored()


def assemble(settings: Settings, nats: Check, redis: Check, stored: _Stored, now: dt.datetime) -> StatusReport:
    stale = dt.timedelta(seconds=settings.bus.heartbeat_interval_s * 3)
    services = []
    for name in SERVICES:
        mine = [b for b in stored.beats if b.service == name]
        up = any(b.state == "running" and now - b.time < stale for b in mine)
        services.append(ServiceStatus(service=name, up=up, instances=mine))
    reachable = all(c.state != "Unreachable" for c in stored.clusters)
    return StatusReport(
        ok=nats.ok and redis.ok and all(s.up for s in services) and reachable,
        time=now,
        nats=nats,
        redis=redis,
        services=services,
        clusters=stored.clusters,
        incidents=stored.incidents,
        agents=stored.agents,
    )


async def gather(
    settings: Settings, *, with_incidents: bool, redis: Redis | None = None, nats: NatsCheck | None = None
) -> StatusReport:
    """The status now; with `redis` and `nats` a running service's own connections are used, else fresh ones
    (a command's: one attempt, a short timeout, `Unreachable` reported in one line)."""
    checking = (nats or (lambda: nats_check(settings)))()
    if redis is not None:
        checked, (redis_check, stored) = await asyncio.gather(checking, _redis(settings, redis, with_incidents))
        return assemble(settings, checked, redis_check, stored, dt.datetime.now(dt.UTC))
    try:
        client = await reachable_redis(settings)
    except Unreachable as exc:
        unreachable = Check(ok=False, url=redact_url(settings.redis.url), error=str(exc))
        return assemble(settings, await checking, unreachable, _Stored(), dt.datetime.now(dt.UTC))
    try:
        checked, (redis_check, stored) = await asyncio.gather(checking, _redis(settings, client, with_incidents))
    finally:
        await client.aclose()
    return assemble(settings, checked, redis_check, stored, dt.datetime.now(dt.UTC))
