"""The dashboard, composed from what the bus and Redis say: a pure function of the observed pieces.

    health      services' heartbeats, NATS, Redis and each cluster (runtime/status.py)
    tiles       Workflows (CodeRuns), Agents (agent-workflow alerts), Infra (platform alerts, clusters,
                Healer itself), GitOps (H1 drift, the Argo CD source): a count, a state, and why
    alerts      the newest alert of each fingerprint, with what Healer did about it
    incidents   open ones, most severe first, each with its ranked cause and its remediation
    approvals   runs waiting for a person's yes or no

Open incidents are the correlator's (Redis) merged with the newest revisions on the stream by revision, so an
incident published a moment ago shows before the correlator's save lands, and a resolved one leaves at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from healer_common.contract.alerts import SEVERITY_RANK, Alert
from healer_common.contract.incidents import Incident
from healer_common.contract.remediations import Remediation
from healer_common.contract.views import (
    ActionState,
    AlertRow,
    ApprovalCard,
    CodeRunView,
    DashboardView,
    Health,
    IncidentCard,
    RemediationBrief,
    StatusReport,
)
from services.api.tiles import tiles

DONE_WORDS = {
    "restart_pod": "pod restarted",
    "scale_up": "scaled up",
    "clear_temp_files": "temporary files cleared",
    "retry_sync": "sync retried",
    "create_coderun": "handed to an agent",
    "rollback_deployment": "rolled back",
    "drain_node": "node drained",
    "refresh_secrets": "secrets refreshed",
    "database_failover": "database failed over",
    "disable_feature_flag": "feature flag turned off",
}


@dataclass(frozen=True)
class Observed:
    """Everything the dashboard is made of, as read at one moment (newest first where it is a history)."""

    status: StatusReport
    alerts: Sequence[Alert]
    incidents: Sequence[Incident]
    remediations: Sequence[Remediation]
    coderuns: Sequence[CodeRunView]
    now: dt.datetime


def current_incidents(stored_open: Iterable[Incident], published: Iterable[Incident]) -> list[Incident]:
    """Open incidents: the newest revision of each, from Redis or the stream, unless that revision resolved it."""
    newest: dict[str, Incident] = {}
    for incident in (*stored_open, *published):
        known = newest.get(incident.incident_id)
        if known is None or incident.revision > known.revision:
            newest[incident.incident_id] = incident
    still_open = [i for i in newest.values() if i.state != "resolved"]
    return sorted(still_open, key=lambda i: (-SEVERITY_RANK[i.severity], i.opened_at))


def _last_step(run: Remediation) -> str | None:
    return f"{run.steps[-1].action} {run.steps[-1].outcome}" if run.steps else None


def _done(run: Remediation) -> str:
    acted = [s for s in run.steps if s.outcome in ("ok", "dry_run") and s.action in DONE_WORDS]
    words = DONE_WORDS[acted[-1].action] if acted else run.playbook
    return f"{words} (dry run)" if run.dry_run else words


def _run_words(alert: Alert, run: Remediation) -> tuple[ActionState, str] | None:
    """What a run says, or None when it says nothing yet (skipped: the alert decides)."""
    acted = any(s.action in DONE_WORDS and s.outcome in ("ok", "dry_run") for s in run.steps)
    if run.state == "succeeded" and not acted:
        return "pending", f"pending: requires attention (people told by {run.playbook})"
    if run.state == "succeeded" or (run.state == "acted" and not alert.firing):
        return "auto-remediated", f"auto-remediated: {_done(run)}"
    if run.state == "awaiting_approval":
        return "pending", "pending: requires attention (approval waiting)"
    if run.state in ("failed", "rolled_back", "denied"):
        return "pending", f"pending: requires attention (remediation {run.state.replace('_', ' ')})"
    if run.state != "skipped":
        return "remediating", f"remediating: {run.playbook} ({run.state.replace('_', ' ')})"
    return None


def what_healer_did(alert: Alert, incident: Incident | None, run: Remediation | None) -> tuple[ActionState, str]:
    """In words, as the seed shows it: 'auto-remediated: pod restarted', 'pending: requires attention'."""
    said = _run_words(alert, run) if run is not None else None
    if said is not None:
        return said
    if incident is not None and incident.silenced:
        return "silenced", "silenced: recorded, nobody told"
    if not alert.firing:
        return "resolved", "resolved on its own" if run is None else "resolved"
    if run is not None:
        return "pending", f"pending: requires attention ({run.reason or 'no remediation ran'})"
    if alert.predicted:
        return "watching", "watching: predicted, not yet happened"
    return "pending", "pending: requires attention"


def newest_run_of(newest_first: Iterable[Remediation]) -> dict[str, Remediation]:
    """Incident id -> its newest run (a later run of the same incident is the one that counts)."""
    found: dict[str, Remediation] = {}
    for run in newest_first:
        found.setdefault(run.incident_id, run)
    return found


def alert_rows(
    alerts: Iterable[Alert], incidents: Iterable[Incident], runs: Iterable[Remediation], limit: int
) -> list[AlertRow]:
    """The newest publication of each alert (by fingerprint), newest first, with what was done about it."""
    incident_of = {a.fingerprint: i for i in incidents for a in i.alerts}
    run_of = newest_run_of(runs)
    rows: dict[str, AlertRow] = {}
    for alert in alerts:
        if alert.fingerprint in rows:
            continue
        incident = incident_of.get(alert.fingerprint)
        run = run_of.get(incident.incident_id) if incident else None
        state, words = what_healer_did(alert, incident, run)
        rows[alert.fingerprint] = AlertRow(
            fingerprint=alert.fingerprint,
            alert_id=alert.alert_id,
            name=alert.name,
            status=alert.status,
            severity=alert.severity,
            cluster=alert.cluster,
            target=alert.target,
            summary=alert.summary(),
            time=alert.time,
            incident_id=incident.incident_id if incident else None,
            remediation_id=run.remediation_id if run else None,
            action_state=state,
            action=words,
        )
        if len(rows) == limit:
            break
    return list(rows.values())


def incident_cards(open_incidents: Iterable[Incident], runs: Iterable[Remediation]) -> list[IncidentCard]:
    run_of = newest_run_of(runs)
    cards = []
    for incident in open_incidents:
        run = run_of.get(incident.incident_id)
        brief = None
        if run is not None:
            brief = RemediationBrief(
                remediation_id=run.remediation_id,
                playbook=run.playbook,
                state=run.state,
                dry_run=run.dry_run,
                last_step=_last_step(run),
                reason=run.reason,
            )
        cards.append(
            IncidentCard(
                incident_id=incident.incident_id,
                title=incident.title,
                severity=incident.severity,
                cluster=incident.cluster,
                namespace=incident.namespace,
                opened_at=incident.opened_at,
                revision=incident.revision,
                alerts_firing=len(incident.firing_alerts),
                alert_ids=incident.alert_ids,
                cause=incident.causes[0] if incident.causes else None,
                acknowledged_by=incident.acknowledged_by,
                silenced=incident.silenced,
                remediation=brief,
            )
        )
    return cards


def waiting_approvals(runs: Iterable[Remediation], now: dt.datetime) -> list[ApprovalCard]:
    """Runs whose newest revision waits for an answer that has not timed out yet, soonest deadline first."""
    cards = [
        ApprovalCard(
            remediation_id=run.remediation_id,
            incident_id=run.incident_id,
            playbook=run.playbook,
            cluster=run.cluster,
            action=run.approval.action,
            summary=run.approval.summary,
            target=run.approval.target or run.target,
            api_calls=run.approval.api_calls,
            expires_at=run.approval.expires_at,
            on_timeout=run.approval.on_timeout,
        )
        for run in runs
        if run.state == "awaiting_approval" and run.approval is not None and run.approval.expires_at > now
    ]
    return sorted(cards, key=lambda c: c.expires_at)


def health_of(status: StatusReport) -> Health:
    up = sum(1 for s in status.services if s.up)
    down = [s.service for s in status.services if not s.up]
    unreachable = [c.cluster for c in status.clusters if c.state == "Unreachable"]
    degraded = [c.cluster for c in status.clusters if c.state == "Degraded"]
    if not (status.nats.ok and status.redis.ok) or up == 0:
        state, summary = "down", "NATS or Redis is unreachable" if up else "no Healer service is running"
    elif down or unreachable or degraded:
        state = "degraded"
        parts = [
            f"{', '.join(down)} down" if down else "",
            f"{', '.join(unreachable)} unreachable" if unreachable else "",
        ]
        parts.append(f"{', '.join(degraded)} degraded" if degraded else "")
        summary = "; ".join(p for p in parts if p)
    else:
        state, summary = "healthy", f"all {up} services up; NATS and Redis healthy"
    return Health(
        state=state,
        summary=summary,
        services_up=up,
        services_total=len(status.services),
        nats=status.nats.ok,
        redis=status.redis.ok,
        services=status.services,
        clusters=status.clusters,
    )


def compose(observed: Observed, recent_alerts: int) -> DashboardView:
    """The whole dashboard from one moment's reads."""
    open_now = current_incidents(observed.status.incidents, observed.incidents)
    known = {i.incident_id: i for i in (*observed.incidents, *open_now)}
    return DashboardView(
        time=observed.now,
        health=health_of(observed.status),
        tiles=tiles(observed.status, open_now, observed.coderuns),
        alerts=alert_rows(observed.alerts, known.values(), observed.remediations, recent_alerts),
        coderuns=list(observed.coderuns),
        incidents=incident_cards(open_now, observed.remediations),
        approvals=waiting_approvals(observed.remediations, observed.now),
    )
