"""Which agent work yields to which: remediations run before routine agent work. While an incident at least as
severe as `remediator.agents.pause_on_severity` is open, or a remediation CodeRun waits Pending, the CodeRuns
whose priority is below `pause_below` are paused; once nothing presses, the ones Healer paused are resumed
(never one a person paused). A remediation CodeRun is never paused, whatever its labels say.

Priorities, highest first: critical (every remediation CodeRun), high, normal (the default), low; a CodeRun's
comes from its `healer.platform/priority` label, else its run type (`run_type_priorities`). Pure:
adapters/agent_coordination.py acts on the decision, each pause and resume audited and told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from healer_common.contract.agents import PRIORITY_RANK, LiveCodeRun
from healer_common.contract.alerts import SEVERITY_RANK
from healer_common.settings.remediator import AgentCoordinationSettings


@dataclass(frozen=True)
class Pressure:
    """Why remediation comes first now: an open incident, or a remediation CodeRun kept waiting."""

    key: str  # the incident id, or `waiting:<coderun>`
    severity: str
    why: str


@dataclass(frozen=True)
class Decision:
    pause: tuple[LiveCodeRun, ...] = ()
    resume: tuple[LiveCodeRun, ...] = ()
    because: Pressure | None = None


def presses(severity: str, cfg: AgentCoordinationSettings) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK[cfg.pause_on_severity]


def waiting_remediations(runs: list[LiveCodeRun], cfg: AgentCoordinationSettings, now: dt.datetime) -> list[Pressure]:
    """Remediation CodeRuns still Pending after `pending_for_s`: the agents' work stands in their way."""
    waited = dt.timedelta(seconds=cfg.pending_for_s)
    return [
        Pressure(f"waiting:{r.namespace}/{r.name}", "critical", f"remediation CodeRun {r.name} waits to start")
        for r in runs
        if r.remediation and r.phase == "Pending" and r.since is not None and now - r.since >= waited
    ]


def decide(runs: list[LiveCodeRun], pressures: list[Pressure], cfg: AgentCoordinationSettings) -> Decision:
    """What to pause and what to resume now."""
    pressing = [p for p in pressures if presses(p.severity, cfg)]
    if pressing:
        worst = max(pressing, key=lambda p: (SEVERITY_RANK.get(p.severity, 0), p.key))
        below = PRIORITY_RANK[cfg.pause_below]
        pause = tuple(r for r in runs if not r.paused and not r.remediation and PRIORITY_RANK[r.priority] < below)
        return Decision(pause=pause, because=worst)
    return Decision(resume=tuple(r for r in runs if r.paused and r.paused_by))
