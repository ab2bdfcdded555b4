"""The platform's CodeRuns (agents.platform/v1): where each agent run is, and since when (A9 reads it).

    CodeRunPending, CodeRunRunning   labels.since: when the run entered the phase (the phase's condition, else
                                     its creation for Pending, else when the collector first saw the phase)
    CodeRunFinished                  Succeeded or Failed; labels.phase says which, the message why

Labels carry the run's task, agent, service and run type (`remediate` for Healer's own runs).
"""

from __future__ import annotations

import datetime as dt

from services.collector.observations import (
    Emission,
    Json,
    ObjectKey,
    Observation,
    object_key,
    observe,
    parse_time,
    rfc3339,
)
from services.collector.sources.tracker import Tracker
from services.collector.transitions import TransitionMemory

ACTIVE = {"Pending": "CodeRunPending", "Running": "CodeRunRunning"}
FINISHED = frozenset({"Succeeded", "Failed"})


def coderun_observations(run: Json, seen_since: dt.datetime) -> list[Observation]:
    key = object_key(run)
    spec, status = run.get("spec") or {}, run.get("status") or {}
    phase = str(status.get("phase") or "Pending")
    labels = {"namespace": key[0], "coderun": key[1], "phase": phase}
    for label, value in (
        ("run_type", spec.get("runType")),
        ("task-id", spec.get("taskId")),
        ("service", spec.get("service")),
        ("agent", spec.get("implementationAgent") or spec.get("githubApp")),
        ("remediation", ((run.get("metadata") or {}).get("labels") or {}).get("remediation")),
    ):
        if value not in (None, ""):
            labels[label] = str(value)
    message = status.get("message")
    if phase in FINISHED:
        return [observe("CodeRun", key, "CodeRunFinished", labels=labels, message=message, occurrence=phase)]
    if phase not in ACTIVE:
        return []
    since = phase_since(run, phase) or seen_since
    labels["since"] = rfc3339(since)
    return [observe("CodeRun", key, ACTIVE[phase], labels=labels, message=message, occurrence=phase)]


def phase_since(run: Json, phase: str) -> dt.datetime | None:
    for condition in (run.get("status") or {}).get("conditions") or []:
        if condition.get("type") == phase and condition.get("status") == "True":
            return parse_time(condition.get("lastTransitionTime"))
    if phase == "Pending":
        return parse_time((run.get("metadata") or {}).get("creationTimestamp"))
    return None


class CodeRunTracker(Tracker):
    def __init__(self) -> None:
        self._memory = TransitionMemory()
        self._phases: dict[ObjectKey, tuple[str, dt.datetime]] = {}

    def observe(self, obj: Json, now: dt.datetime) -> Emission:
        key = object_key(obj)
        phase = str((obj.get("status") or {}).get("phase") or "Pending")
        if key not in self._phases or self._phases[key][0] != phase:
            self._phases[key] = (phase, now)
        return Emission(conditions=self._memory.changes(key, coderun_observations(obj, self._phases[key][1])))

    def remove(self, key: ObjectKey, now: dt.datetime) -> Emission:
        del now
        self._phases.pop(key, None)
        self._memory.forget(key)
        return Emission()

    def keys(self) -> list[ObjectKey]:
        return list(self._phases)
