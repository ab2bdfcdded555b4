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
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, Field
from rich.text import Text

from healer_cli.runtime import ConfigOption, console, line, run, settings_or_exit
from healer_cli.tables import Cell, Column, show
from healer_common.contract.health import ClusterHealth, Heartbeat
from healer_common.contract.incidents import Incident
from healer_common.errors import Unreachable
from healer_common.logging import redact_url
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_cluster_health, read_heartbeats
from healer_common.runtime.state import KeySpace, reachable_redis
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
    url = redact_url(settings.nats.url)
    try:
        async with asyncio.timeout(4), BusClient(settings, name="healer-status", connect_timeout=2.0) as bus:
            return Check(ok=True, url=url, detail=await bus.account_info())
    except Unreachable as exc:
        return Check(ok=False, url=url, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=url, error=redact_url(f"{type(exc).__name__}: {exc}"))


class _Stored(BaseModel):
    """What Redis holds for `healer status`: heartbeats, cluster health, open incidents."""

    beats: list[Heartbeat] = Field(default_factory=list)
    clusters: list[ClusterHealth] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)


async def _redis(settings: Settings, with_incidents: bool) -> tuple[Check, _Stored]:
    url = redact_url(settings.redis.url)
    try:
        redis = await reachable_redis(settings)
    except Unreachable as exc:
        return Check(ok=False, url=url, error=str(exc)), _Stored()
    keys = KeySpace(settings.redis.key_prefix)
    try:
        stored = _Stored(beats=await read_heartbeats(redis, keys), clusters=await read_cluster_health(redis, keys))
        if with_incidents:
            raw = await redis.hgetall(keys(*OPEN_INCIDENTS_KEY))
            stored.incidents = sorted(
                (Incident.model_validate_json(v) for v in raw.values()), key=lambda i: i.opened_at
            )
        return Check(ok=True, url=url), stored
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as such
        return Check(ok=False, url=url, error=redact_url(f"{type(exc).__name__}: {exc}")), _Stored()
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


def _mark(ok: bool) -> Text:
    return Text("up", style="green") if ok else Text("DOWN", style="red")


def _clusters(clusters: list[ClusterHealth]) -> None:
    colour = {"Healthy": "green", "Degraded": "yellow", "Unreachable": "red"}
    rows: list[list[Cell]] = [
        [h.cluster, Text(str(h), style=colour[h.state]), ", ".join(f"{s.source} {s.state.lower()}" for s in h.sources)]
        for h in clusters
    ]
    show(console, [Column("cluster", key=True), Column("health"), Column("sources")], rows, title="Clusters")


def _services(report: StatusReport, show_all: bool) -> None:
    rows: list[list[Cell]] = []
    for svc in report.services:
        beats = svc.instances
        lag = sum(b.consumer_lag or 0 for b in beats) if beats else None
        detail = "; ".join(f"{k}={v}" for b in beats[:1] for k, v in b.detail.items() if show_all or k != "http")
        rows.append(
            [
                svc.service,
                _mark(svc.up),
                str(len(beats)),
                str(sum(b.processed for b in beats)),
                str(sum(b.failed for b in beats)),
                str(sum(b.dead_lettered for b in beats)),
                "-" if lag is None else str(lag),
                detail,
            ]
        )
    headers = ("state", "instances", "processed", "failed", "dead-lettered", "lag", "detail")
    show(console, [Column("service", key=True), *(Column(h) for h in headers)], rows, title="Services")


def render(report: StatusReport, *, as_json: bool, show_all: bool) -> None:
    if as_json:
        console.print_json(json.dumps(report.model_dump(mode="json")))
        return
    infra: list[list[Cell]] = [
        [name, _mark(check.ok), check.url, check.error or ", ".join(f"{k}={v}" for k, v in check.detail.items())]
        for name, check in (("NATS JetStream", report.nats), ("Redis", report.redis))
    ]
    columns = [Column("part", key=True), Column("state"), Column("where", key=True), Column("detail")]
    show(console, columns, infra, title="Infrastructure")
    _services(report, show_all)
    if report.clusters:
        _clusters(report.clusters)
    if show_all:
        incidents = [
            [i.incident_id, i.severity, i.opened_at.strftime("%Y-%m-%d %H:%M:%S"), i.title] for i in report.incidents
        ]
        columns = [Column("id", key=True), Column("severity"), Column("opened"), Column("title")]
        show(console, columns, incidents, title=f"Open incidents ({len(report.incidents)})")
    line(("all healthy", "green") if report.ok else ("something is down", "red"))


def command(
    show_all: Annotated[bool, typer.Option("--all", help="also open incidents and instance details")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Show the health of every service, NATS and Redis; exit 1 when anything is down."""
    settings = settings_or_exit(config)
    report = run(gather(settings, with_incidents=show_all or as_json))
    render(report, as_json=as_json, show_all=show_all)
    raise typer.Exit(0 if report.ok else 1)
