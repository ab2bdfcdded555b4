"""`healer status`: is every service up, are NATS and Redis healthy, and what is open right now.

Reads heartbeats from Redis (each instance writes one every few seconds with a short TTL), asks NATS for its
JetStream account, reads the health of every cluster the collectors read (Healthy, Degraded(reason),
Unreachable(since)), lists open incidents, and with --all shows the agent platform (the remediator's last
AgentsReport: CodeRuns by stage, each agent healthy or degraded, what is paused, where agents contend).
Exits 1 when anything is down (an Unreachable cluster included), so scripts and probes can use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from healer_cli.runtime import ConfigOption, console, line, run, settings_or_exit
from healer_cli.tables import Cell, Column, show
from healer_common.contract.agents import AgentsReport
from healer_common.contract.health import ClusterHealth
from healer_common.contract.views import StatusReport
from healer_common.runtime.status import gather


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


def _agents(report: AgentsReport) -> None:
    """The agent platform: what the Workflows and Agents tiles show, as tables."""
    colour = {"healthy": "green", "degraded": "yellow"}
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(report.by_stage.items())) or "none"
    rows: list[list[Cell]] = [
        [
            a.agent,
            Text(a.state, style=colour[a.state]),
            str(a.running),
            str(a.pending),
            str(a.paused),
            "; ".join(a.reasons),
        ]
        for a in report.agents
    ]
    columns = [Column("agent", key=True), Column("state"), Column("running"), Column("pending"), Column("paused")]
    show(console, [*columns, Column("why")], rows, title=f"Agents (CodeRuns by stage: {stages})")
    runs: list[list[Cell]] = [
        [
            f"{r.namespace}/{r.name}",
            r.agent or "-",
            r.stage,
            r.phase,
            r.priority,
            f"paused for {r.paused_by or 'a person'}",
        ]
        for r in report.coderuns
        if r.paused
    ]
    if runs:
        heads = ("agent", "stage", "phase", "priority", "why")
        show(console, [Column("paused CodeRun", key=True), *(Column(h) for h in heads)], runs, title="Paused")
    for found in report.contention:
        line(("contention: ", "yellow"), found.describe())


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
        if report.agents is not None:
            _agents(report.agents)
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
