"""Active CodeRuns as the bus last reported them: the collector publishes each phase change of a CodeRun
(agents.platform/v1) as a condition (`CodeRunPending`, `CodeRunRunning`, `CodeRunFinished`, with labels
phase, agent, task-id, service, run_type, since); the dashboard's Workflows panel shows the runs whose last
word is Pending or Running.

A play workflow runs its agents in order, one stage each (Rex or Blaze implement, Cleo checks quality, Tess
tests, Cipher secures, Atlas integrates: the A1 order), so a run's agent places it in its workflow, and its
progress bar is the share of the five stages behind it (half a stage for the one running). The agent
platform (issue 15) can report a finer progress; `CodeRunView.progress` is where it goes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from healer_common.contract.events import ConditionEvent
from healer_common.contract.views import CodeRunView

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("implementation", ("rex", "blaze")),
    ("quality", ("cleo",)),
    ("testing", ("tess",)),
    ("security", ("cipher",)),
    ("integration", ("atlas",)),
)
_PHASE_OF = {"CodeRunPending": "Pending", "CodeRunRunning": "Running"}
REASONS = frozenset({*_PHASE_OF, "CodeRunFinished"})


def stage_of(agent: str | None) -> tuple[int, str] | None:
    """The stage an agent works in (`5DLabs-Cleo` -> (1, 'quality')), or None for an agent outside the play."""
    if not agent:
        return None
    name = agent.rsplit("-", 1)[-1].lower()
    for index, (stage, agents) in enumerate(STAGES):
        if name in agents:
            return index, stage
    return None


def progress_of(stage: int | None, phase: str) -> float | None:
    if stage is None:
        return None
    done = {"Pending": 0.0, "Running": 0.5}.get(phase, 1.0)
    return round((stage + done) / len(STAGES), 3)


def _since(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def view_of(event: ConditionEvent) -> CodeRunView:
    data, labels = event.data, event.data.labels
    phase = labels.get("phase") or _PHASE_OF.get(data.reason, "Succeeded")
    if phase not in ("Pending", "Running", "Succeeded", "Failed"):
        phase = "Running" if data.reason == "CodeRunRunning" else "Pending"
    agent = labels.get("agent")
    placed = stage_of(agent)
    return CodeRunView(
        name=data.resource.name,
        namespace=data.resource.namespace or "",
        cluster=event.cluster,
        phase=phase,
        agent=agent,
        stage=placed[1] if placed else None,
        progress=progress_of(placed[0] if placed else None, phase),
        task_id=labels.get("task-id"),
        service=labels.get("service"),
        run_type=labels.get("run_type"),
        since=_since(labels.get("since")) or event.time,
        message=data.message,
    )


def active_coderuns(newest_first: Iterable[ConditionEvent]) -> list[CodeRunView]:
    """The runs whose latest condition says Pending or Running, oldest first."""
    latest: dict[tuple[str, str, str], ConditionEvent] = {}
    for event in newest_first:
        if event.data.resource.kind != "CodeRun" or event.data.reason not in REASONS:
            continue
        key = (event.cluster, event.data.resource.namespace or "", event.data.resource.name)
        latest.setdefault(key, event)
    active = [view_of(e) for e in latest.values() if e.data.reason in _PHASE_OF]
    return sorted(active, key=lambda v: (v.since or dt.datetime.min.replace(tzinfo=dt.UTC), v.name))
