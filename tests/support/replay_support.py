"""The same incident played twice on the sandbox, as the memory-replay test and `bench/memory_replay.py` play
it: the pipeline configured for a 30-times-faster scenario, one play of the held leaking-pod scenario
(replayed with `healer sandbox replay`, as a user runs it), and what the play published.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from healer_common.durations import format_duration
from healer_common.settings.collector import KubernetesSourceSettings
from healer_common.testing import Recorder, ServiceRunner, eventually
from healer_sandbox.sandbox import Sandbox
from services.remediator.actions.cluster import kube as read_json
from tests.support.remediation_helpers import audit, bodies, playbook_doc, write_playbooks

SPEED = 30.0  # a pod OOMs 15 s after it starts; the leak's backlog lasts 38 s
BACKLOG_S = 19 * 60 / SPEED
OOM_PLAYBOOK = playbook_doc(
    "oom-restart-then-scale",  # the built-in's steps, with windows that fit a test
    {"type": "restart_pod", "timeout": "60s"},
    {"type": "scale_up", "condition": "restart_failed", "timeout": "90s", "params": {"by": 1, "maxReplicas": 3}},
    {"type": "create_coderun", "condition": "scale_failed"},
    trigger={"alerts": ["H8"], "targetKinds": ["Pod"]},
    rollback={"enabled": True, "window": "30s"},  # scaled back after the backlog (38 s) ends
)


@dataclass
class Round:
    """One play of the scenario: its incidents on rex-worker and its remediations, as published."""

    replayed_at: dt.datetime
    incidents: dict[str, list[dict[str, Any]]]
    runs: dict[str, list[dict[str, Any]]]

    def actions(self) -> list[str]:
        """The actions taken, in order, across the play's runs (each run's last publication is complete)."""
        ordered = sorted(self.runs.values(), key=lambda r: r[0]["started_at"])
        return [s["action"] for r in ordered for s in r[-1]["steps"] if s["outcome"] == "ok"]

    def healed_by(self) -> list[str]:
        ordered = sorted(self.runs.values(), key=lambda r: r[0]["started_at"])
        return [r[-1]["healed_by"] for r in ordered if r[-1]["healed_by"]]

    def memory_applied(self, seen: Recorder) -> list[dict[str, Any]]:
        """The remediator's audit records of memory's advice applied in this play's runs."""
        return [b for b in bodies(seen, audit("memory", "memory_applied")) if b["remediation_id"] in self.runs]

    @property
    def recovered_in(self) -> str:
        """The time to recovery as the closing note of the play's last incident says it."""
        last = max(self.incidents.values(), key=lambda i: i[-1]["resolved_at"])[-1]
        took = dt.datetime.fromisoformat(last["resolved_at"]) - dt.datetime.fromisoformat(last["opened_at"])
        return format_duration(max(0, round(took.total_seconds())), parts=2)

    def story(self) -> str:
        """What happened, for a failure message: each incident's alerts and timeline, each run's steps."""
        lines = []
        for publications in self.incidents.values():
            last = publications[-1]
            lines.append(f"incident {last['incident_id']} {last['opened_at']} -> {last['resolved_at']}")
            lines += [
                f"  alert {a.get('alert_id')} {a.get('status')} {a.get('starts_at')} -> {a.get('ends_at')} "
                f"{(a.get('resource') or {}).get('name')}"
                for a in last["alerts"]
            ]
            lines += [f"  {t['time']} {t['kind']} {t['text']}" for t in last.get("timeline", [])]
        for run in self.runs.values():
            last = run[-1]
            lines.append(f"run {last['remediation_id']} {last.get('state')} healed_by={last.get('healed_by')}")
            lines += [
                f"  step {s['action']} {s['outcome']} {s.get('started_at')} {s.get('finished_at')}"
                for s in last["steps"]
            ]
        return "\n".join(lines)

    @property
    def time_to_recovery_s(self) -> float:
        opened = min(dt.datetime.fromisoformat(i[0]["opened_at"]) for i in self.incidents.values())
        resolved = max(dt.datetime.fromisoformat(i[-1]["resolved_at"]) for i in self.incidents.values())
        return (resolved - opened).total_seconds()


def on_rex_worker(body: dict[str, Any]) -> bool:
    resources = [a.get("resource") or {} for a in body.get("alerts", [])] + [body.get("target") or {}]
    return any(str(r.get("name", "")).startswith("rex-worker") for r in resources)


def after(seen: Recorder, since: int, family: str, key: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for msg in seen.messages[since:]:
        if f".{family}." in msg.subject:
            body = json.loads(msg.data)
            if on_rex_worker(body):
                found.setdefault(body[key], []).append(body)
    return found


async def replay(sandbox: Sandbox, scenario: str) -> None:
    """`healer sandbox replay SCENARIO`, run as a user runs it (the sandbox serves from this test's loop)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "healer_cli",
        "sandbox",
        "replay",
        scenario,
        "--data-dir",
        str(sandbox.config.workdir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()


async def replicas(apps: client.AppsV1Api) -> int:
    return int((await read_json(apps.read_namespaced_deployment, "rex-worker", "cto"))["spec"]["replicas"])


async def play_once(sandbox: Sandbox, seen: Recorder, apps: client.AppsV1Api) -> Round:
    since = len(seen.messages)
    replayed_at = dt.datetime.now(dt.UTC)
    await replay(sandbox, "leaking-pod")

    def healed() -> bool:
        runs = after(seen, since, "remediations", "remediation_id")
        incidents = after(seen, since, "incidents", "incident_id")
        return (
            any(r[-1].get("healed_by") for r in runs.values())
            and bool(incidents)
            and all(i[-1]["state"] == "resolved" for i in incidents.values())
        )

    await eventually(healed, timeout=150, interval=0.5, what="the incident healed and resolved")
    await asyncio.sleep(max(0.0, BACKLOG_S - (dt.datetime.now(dt.UTC) - replayed_at).total_seconds()) + 2)
    await eventually(healed, timeout=30, interval=0.5, what="still resolved after the backlog")

    async def scaled_back() -> bool:
        return await replicas(apps) == 1

    await eventually(scaled_back, timeout=60, interval=0.5, what="the scale-down at the window's end")
    return Round(
        replayed_at,
        after(seen, since, "incidents", "incident_id"),
        after(seen, since, "remediations", "remediation_id"),
    )


def configure_pipeline(services: ServiceRunner, sandbox: Sandbox, tmp_path: Path) -> None:
    """All six services on the sandbox, with the windows that the scenario's speed compresses scaled to it."""
    write_playbooks(tmp_path / "playbooks", OOM_PLAYBOOK)
    services.configure("cluster", kubeconfig=sandbox.config.kubeconfig)
    services.configure(
        "collector",
        # On, as in `make run`: a pod read once near its limit and then deleted by the remediator must not get
        # an H8 a minute later (PodDeleted ends its series; tests/integration/test_detector_deleted_pod.py).
        prometheus_url=sandbox.prometheus.url,
        loki_url=sandbox.loki.url,
        kubernetes=KubernetesSourceSettings(history_after_s=8, resync_s=1),  # Ready 8 s after an OOM kill
    )
    # The scenario runs 30 times faster than the detector's clock: the second play comes a minute after the
    # first, so the same pod's alert would count as flapping (within 600 s) and its recovery be held 60 s.
    # Scaled as the scenario is, the window is 20 s; a real replay comes hours later.
    services.configure("detector", flap_window_s=600 / SPEED)
    # An open incident's changes (the fresh pod's OOM after the restart) are published every group_interval; the
    # remediator escalates from them, so the default 30 s would stand for 15 minutes of the scenario.
    services.configure("correlator", group_interval_s=30 / SPEED)
    services.configure(
        "remediator",
        playbook_paths=[tmp_path / "playbooks"],
        tick_s=0.2,
        memory_timeout_s=5.0,
        cooldown_s=0,  # the second play comes within the default 10 minutes
        recurrence_window_s=30,  # the restart's recurrence (15 s) is within it; the second play is not
    )
