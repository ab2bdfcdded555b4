"""The dashboard's four tiles, the seed's layout: Workflows, Agents, Infra, GitOps. Each counts one thing, takes
the worst state among what it covers, and says why in words (the page shows the words beside the colour).

    Workflows   CodeRuns active; warning when a step timed out or a run is stuck (A8, A9); with the agent
                platform's report (the remediator's AgentsReport), CodeRuns by stage and how many are paused
    Agents      agent-workflow alerts firing (A1-A10); with the report, agents healthy or degraded
    Infra       platform alerts firing (all but GitOps'), Healer's own services and each cluster's health
    GitOps      Argo CD drift firing (H1) and the argocd source of each cluster
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from healer_common.contract.agents import AgentsReport
from healer_common.contract.alerts import CATALOGUE, SEVERITY_RANK
from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.contract.views import CodeRunView, StatusReport, Tile, TileState

GITOPS_ALERTS = frozenset({"H1"})
DETAIL_LINES = 4
WORKFLOW_ALERTS = frozenset({"A8", "A9"})
_RANK: dict[TileState, int] = {"ok": 0, "unknown": 1, "warning": 2, "critical": 3}
_OF_SEVERITY: dict[str, TileState] = {"info": "ok", "warning": "warning", "critical": "critical"}
_OF_CLUSTER: dict[str, TileState] = {"Healthy": "ok", "Degraded": "warning", "Unreachable": "critical"}


def worst(*states: TileState) -> TileState:
    return max(states, key=_RANK.__getitem__, default="ok")


def firing(incidents: Iterable[Incident]) -> list[AlertSummary]:
    return [a for i in incidents for a in i.firing_alerts]


def _family(alert: AlertSummary) -> str:
    entry = CATALOGUE.get(alert.alert_id)
    return entry.family if entry else "platform"


def _lines(alerts: Sequence[AlertSummary]) -> list[str]:
    ordered = sorted(alerts, key=lambda a: (-SEVERITY_RANK[a.severity], a.alert_id))
    return [f"{a.alert_id} {a.severity}: {a.resource or a.summary[:60]}" for a in ordered[:DETAIL_LINES]]


def _alerts_state(alerts: Sequence[AlertSummary]) -> TileState:
    return worst(*(_OF_SEVERITY[a.severity] for a in alerts))


def _platform_words(report: AgentsReport | None) -> str:
    """CodeRuns by stage and how many are paused, as the agent coordination last reported them."""
    if report is None or not report.coderuns:
        return ""
    stages = ", ".join(f"{stage} {count}" for stage, count in sorted(report.by_stage.items()))
    paused = sum(1 for r in report.coderuns if r.paused)
    return f"; by stage: {stages}" + (f"; {paused} paused for incidents" if paused else "")


def workflows_tile(
    coderuns: Sequence[CodeRunView], alerts: Sequence[AlertSummary], report: AgentsReport | None = None
) -> Tile:
    troubled = [a for a in alerts if a.alert_id in WORKFLOW_ALERTS]
    running = sum(1 for r in coderuns if r.phase == "Running")
    summary = f"{running} running, {len(coderuns) - running} pending" if coderuns else "no CodeRun active"
    summary += _platform_words(report)
    if troubled:
        summary += f"; {len(troubled)} stuck or over time"
    detail = [f"{r.name}: {r.agent or '?'} {r.stage or ''} {r.phase}".replace("  ", " ") for r in coderuns[:5]]
    return Tile(
        key="workflows",
        title="Workflows",
        state=_alerts_state(troubled),
        count=len(coderuns),
        counts="CodeRuns active",
        summary=summary,
        detail=detail + _lines(troubled),
    )


def _health_words(report: AgentsReport | None) -> str:
    if report is None or not report.agents:
        return ""
    degraded = [a.agent for a in report.agents if a.state == "degraded"]
    healthy = len(report.agents) - len(degraded)
    return f"; {healthy} agent(s) healthy" + (f", degraded: {', '.join(degraded)}" if degraded else "")


def agents_tile(alerts: Sequence[AlertSummary], report: AgentsReport | None = None) -> Tile:
    mine = [a for a in alerts if _family(a) == "agent-workflow"]
    return Tile(
        key="agents",
        title="Agents",
        state=_alerts_state(mine),
        count=len(mine),
        counts="agent alerts firing",
        summary=(f"{len(mine)} agent alert(s) firing" if mine else "no agent alert firing") + _health_words(report),
        detail=_lines(mine),
    )


def infra_tile(status: StatusReport, alerts: Sequence[AlertSummary]) -> Tile:
    mine = [a for a in alerts if _family(a) != "agent-workflow" and a.alert_id not in GITOPS_ALERTS]
    down = [s.service for s in status.services if not s.up]
    clusters = [_OF_CLUSTER[c.state] for c in status.clusters]
    healer: TileState = "critical" if down or not (status.nats.ok and status.redis.ok) else "ok"
    words = [f"{len(mine)} platform alert(s) firing" if mine else "no platform alert firing"]
    words += [f"Healer: {', '.join(down)} down"] if down else []
    words += [f"cluster {c.cluster} {c}" for c in status.clusters if c.state != "Healthy"]
    return Tile(
        key="infra",
        title="Infra",
        state=worst(_alerts_state(mine), healer, *clusters),
        count=len(mine),
        counts="platform alerts firing",
        summary="; ".join(words),
        detail=_lines(mine),
    )


def gitops_tile(status: StatusReport, alerts: Sequence[AlertSummary]) -> Tile:
    drift = [a for a in alerts if a.alert_id in GITOPS_ALERTS]
    sources = [(c.cluster, s) for c in status.clusters for s in c.sources if s.source == "argocd"]
    blind = [f"argocd on {cluster}: {source.state}" for cluster, source in sources if source.state != "Healthy"]
    state = worst(_alerts_state(drift), "warning" if blind else "ok")
    summary = f"{len(drift)} application(s) out of sync" if drift else "every application in sync"
    return Tile(
        key="gitops",
        title="GitOps",
        state=state,
        count=len(drift),
        counts="applications drifting",
        summary="; ".join([summary, *blind]),
        detail=_lines(drift),
    )


def tiles(status: StatusReport, incidents: Sequence[Incident], coderuns: Sequence[CodeRunView]) -> list[Tile]:
    alerts = firing(incidents)
    return [
        workflows_tile(coderuns, alerts, status.agents),
        agents_tile(alerts, status.agents),
        infra_tile(status, alerts),
        gitops_tile(status, alerts),
    ]
