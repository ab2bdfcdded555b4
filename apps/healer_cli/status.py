"""`healer status`: is every service up, are NATS and Redis healthy, and what is open right now.

Reads heartbeats from Redis (each instance writes one every few seconds with a short TTL), asks NATS for its
JetStream account, reads the health of every cluster the collectors read (Healthy, Degraded(reason),
Unreachable(since)), and lists open incidents. Exits 1 when anything is down (an Unreachable cluster
included), so scripts and probes can use it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, Field
from rich.table import Table
from rich.text import Text

from healer_cli.runtime import console
from healer_common.contract.health import ClusterHealth, Heartbeat
from healer_common.contract.incidents import Incident
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_cluster_health, read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES, Settings

OPEN_INCIDENTS_KEY = ("correlator", "open")


class Check(BaseModel):
    ok: bool
    url: str
    error: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ServiceStatus(BaseModel):
    service: str
    up: bool
    instances: list[Heartbeat]


class StatusReport(BaseModel):
    ok: bool
    time: dt.datetime
    nats: Check
    redis: Check
    services: list[ServiceStatus]
    clusters: list[ClusterHealth] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)


async def _nats(settings: Settings) -> Check:
    try:
        async with asyncio.timeout(5):
            async with BusClient(settings, name="healer-status", connect_timeout=2.0) as bus:
                return Check(ok=True, url=settings.nats.url, detail=await bus.account_info())
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=settings.nats.url, error=f"{type(exc).__name__}: {exc}")


class _Stored(BaseModel):
    """What Redis holds for `healer status`: heartbeats, cluster health, open incidents."""

    beats: list[Heartbeat] = Field(default_factory=list)
    clusters: list[ClusterHealth] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)


async def _redis(settings: Settings, with_incidents: bool) -> tuple[Check, _Stored]:
    redis = connect_redis(settings)
    keys = KeySpace(settings.redis.key_prefix)
    try:
        await redis.ping()
        stored = _Stored(beats=await read_heartbeats(redis, keys), clusters=await read_cluster_health(redis, keys))
        if with_incidents:
            raw = await redis.hgetall(keys(*OPEN_INCIDENTS_KEY))
            stored.incidents = sorted(
                (Incident.model_validate_json(v) for v in raw.values()), key=lambda i: i.opened_at
            )
        return Check(ok=True, url=settings.redis.url), stored
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=settings.redis.url, error=f"{type(exc).__name__}: {exc}"), _Stored()
    finally:
        await redis.aclose()


async def gather(settings: Settings, *, with_incidents: bool) -> StatusReport:
    nats, (redis, stored) = await asyncio.gather(_nats(settings), _redis(settings, with_incidents))
    beats = stored.beats
    now = dt.datetime.now(dt.UTC)
    stale = dt.timedelta(seconds=settings.bus.heartbeat_interval_s * 3)
    services = []
    for name in SERVICES:
        mine = [b for b in beats if b.service == name]
        up = any(b.state == "running" and now - b.time < stale for b in mine)
        services.append(ServiceStatus(service=name, up=up, instances=mine))
    reachable = all(c.state != "Unreachable" for c in stored.clusters)
    ok = nats.ok and redis.ok and all(s.up for s in services) and reachable
    return StatusReport(
        ok=ok,
        time=now,
        nats=nats,
        redis=redis,
        services=services,
        clusters=stored.clusters,
        incidents=stored.incidents,
    )


def _mark(ok: bool) -> str:
    return "[green]up[/green]" if ok else "[red]DOWN[/red]"


def _clusters(clusters: list[ClusterHealth]) -> Table:
    table = Table(title="Clusters", title_justify="left")
    for column in ("cluster", "health", "sources"):
        table.add_column(column)
    colour = {"Healthy": "green", "Degraded": "yellow", "Unreachable": "red"}
    for health in clusters:
        sources = ", ".join(f"{s.source} {s.state.lower()}" for s in health.sources)
        table.add_row(health.cluster, Text(str(health), style=colour[health.state]), sources)
    return table


def render(report: StatusReport, *, as_json: bool, show_all: bool) -> None:
    if as_json:
        console.print_json(json.dumps(report.model_dump(mode="json")))
        return
    infra = Table(title="Infrastructure", title_justify="left")
    for column in ("part", "state", "where", "detail"):
        infra.add_column(column)
    for name, check in (("NATS JetStream", report.nats), ("Redis", report.redis)):
        detail = check.error or ", ".join(f"{k}={v}" for k, v in check.detail.items())
        infra.add_row(name, _mark(check.ok), check.url, detail)
    console.print(infra)
    table = Table(title="Services", title_justify="left")
    for column in ("service", "state", "instances", "processed", "failed", "dead-lettered", "lag", "detail"):
        table.add_column(column)
    for svc in report.services:
        beats = svc.instances
        lag = sum(b.consumer_lag or 0 for b in beats) if beats else None
        detail = "; ".join(f"{k}={v}" for b in beats[:1] for k, v in b.detail.items() if show_all or k != "http")
        table.add_row(
            svc.service,
            _mark(svc.up),
            str(len(beats)),
            str(sum(b.processed for b in beats)),
            str(sum(b.failed for b in beats)),
            str(sum(b.dead_lettered for b in beats)),
            "-" if lag is None else str(lag),
            detail,
        )
    console.print(table)
    if report.clusters:
        console.print(_clusters(report.clusters))
    if show_all:
        incidents = Table(title=f"Open incidents ({len(report.incidents)})", title_justify="left")
        for column in ("id", "severity", "opened", "title"):
            incidents.add_column(column)
        for incident in report.incidents:
            incidents.add_row(
                incident.incident_id,
                incident.severity,
                incident.opened_at.strftime("%Y-%m-%d %H:%M:%S"),
                incident.title,
            )
        console.print(incidents)
    console.print("[green]all healthy[/green]" if report.ok else "[red]something is down[/red]")
