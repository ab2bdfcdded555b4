"""`healer status`: is every service up, are NATS and Redis healthy, and what is open right now.

Reads heartbeats from Redis (each instance writes one every few seconds with a short TTL), asks NATS for its
JetStream account, reads the health of every cluster the collectors read (Healthy, Degraded(reason),
Unreachable(since)), and lists open incidents. Exits 1 when anything is down (an Unreachable cluster
included), so scripts and probes can use it.
"""

from __future__ import annotations

import json

from rich.table import Table
from rich.text import Text

from healer_cli.runtime import console
from healer_common.contract.health import ClusterHealth
from healer_common.contract.views import StatusReport
from healer_common.runtime.status import gather

__all__ = ["gather", "render"]


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
