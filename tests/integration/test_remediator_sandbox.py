"""The OOM loop on the sandbox cluster: `cto/rex-worker` (the leaking-pod scenario) leaks until it is OOMKilled;
the remediator restarts it; the fresh pod leaks and is killed again, so the restart did not hold and the next
incident scales the Deployment up (each pod then leaks at half the rate); once the pods stay up the run is
verified, and when the rollback window ends the Deployment is scaled back down. Every step is audited, and
told by the notifier.

The test reports the pods as the collector does (an `OOMKilled` condition for each kill, `Ready` once a pod
has stayed up a while since), plus one thing the collector does not do yet: a pod that is gone is reported
`Recovered`. Without that, the alert of a pod a restart replaced never resolves, and no restart could ever
be verified (told to the lead: the collector's pod tracker emits nothing on removal).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.testing import Recorder, ServiceRunner, eventually, recording
from healer_sandbox.sandbox import Sandbox
from services.remediator.actions.cluster import kube as read_json
from tests.support.markers import WHOLE_SYSTEM
from tests.support.remediation_helpers import audit, playbook_doc, remediation, write_playbooks
from tests.support.sandbox_support import kube, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), WHOLE_SYSTEM]

QUIET_S = 6.0  # a pod up this long since its last OOMKill is reported Ready
SANDBOX_SPEED = 30.0  # one pod OOMs ~15 s after it starts; with two replicas, after ~48 s
OOM_PLAYBOOK = playbook_doc(
    "oom-restart-then-scale",  # replaces the built-in, with windows that fit a test
    {"type": "restart_pod", "timeout": "60s"},
    {"type": "scale_up", "condition": "restart_failed", "timeout": "90s", "params": {"by": 1, "maxReplicas": 3}},
    {"type": "create_coderun", "condition": "scale_failed"},
    trigger={"alerts": ["H8"], "targetKinds": ["Pod"]},
    rollback={"enabled": True, "window": "15s"},
)


@dataclass
class PodSeen:
    restarts: int = 0
    killed_at: float | None = None  # when its last OOMKill was reported, while its alert stands


@dataclass
class CollectorStandIn:
    """Reports rex-worker's pods as the collector will: OOMKilled, Recovered (gone), Ready (up again)."""

    core: client.CoreV1Api
    bus: BusClient
    pods: dict[str, PodSeen] = field(default_factory=dict)
    reported: list[tuple[str, str]] = field(default_factory=list)

    async def report(self, pod: str, reason: str) -> None:
        event = condition_event(f"cto/{pod}", reason, source="collector-stand-in", container="rex")
        await self.bus.publish_event(self.bus.space.custom_events("sandbox"), event)
        self.reported.append((pod, reason))

    async def look(self) -> None:
        listed = await read_json(self.core.list_namespaced_pod, "cto", label_selector="app=rex-worker")
        now = {p["metadata"]["name"]: p for p in listed["items"]}
        for name, pod in now.items():
            await self._pod(name, pod, self.pods.setdefault(name, PodSeen()))
        for name in set(self.pods) - set(now):
            if self.pods.pop(name).killed_at is not None:
                await self.report(name, "Recovered")

    async def _pod(self, name: str, pod: dict[str, Any], seen: PodSeen) -> None:
        status = ((pod.get("status") or {}).get("containerStatuses") or [{}])[0]
        restarts = int(status.get("restartCount", 0))
        killed = ((status.get("lastState") or {}).get("terminated") or {}).get("reason") == "OOMKilled"
        if restarts > seen.restarts and killed:
            seen.killed_at = time.monotonic()
            await self.report(name, "OOMKilled")
        seen.restarts = restarts
        running = "running" in (status.get("state") or {})
        if seen.killed_at is not None and running and time.monotonic() - seen.killed_at >= QUIET_S:
            seen.killed_at = None
            await self.report(name, "Ready")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.look()
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.25)
            except TimeoutError:
                continue


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path, "leaking-pod", speed=SANDBOX_SPEED) as running:
        yield running


async def replicas(apps: client.AppsV1Api) -> int:
    return int((await read_json(apps.read_namespaced_deployment, "rex-worker", "cto"))["spec"]["replicas"])


def runs_of(seen: Recorder) -> dict[str, list[dict[str, Any]]]:
    """Each remediation's publications, in order."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for msg in seen.messages:
        if remediation()(msg):
            body = json.loads(msg.data)
            runs.setdefault(body["remediation_id"], []).append(body)
    return runs


def told(seen: Recorder, remediation_id: str) -> set[str]:
    """The notifications the notifier delivered about a remediation (by their delivery's event id)."""
    return {
        json.loads(m.data)["event_id"]
        for m in seen.messages
        if audit("notify", "delivered", service="notifier")(m)
        and json.loads(m.data)["remediation_id"] == remediation_id
    }


def step_of(action: str, outcome: str) -> Any:
    def match(msg: RawMessage) -> bool:
        steps = json.loads(msg.data)["steps"] if remediation()(msg) else []
        return any(s["action"] == action and s["outcome"] == outcome for s in steps)

    return match


async def test_on_the_sandbox_an_oom_loop_is_restarted_then_scaled_up_then_back_down(
    sandbox: Sandbox, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    write_playbooks(tmp_path / "playbooks", OOM_PLAYBOOK)
    services.configure("cluster", kubeconfig=sandbox.config.kubeconfig)
    services.configure("remediator", playbook_paths=[tmp_path / "playbooks"], tick_s=0.2, memory_timeout_s=2.0)
    services.start("detector", "correlator", "remediator", "notifier", "memory-bridge")
    await services.wait_running()
    api = kube(sandbox)
    apps = client.AppsV1Api(api)
    standin, stop = CollectorStandIn(client.CoreV1Api(api), bus), asyncio.Event()

    async with recording(bus, f"{bus.space.root}.>") as seen:
        watching = asyncio.create_task(standin.run(stop))
        try:
            restart = await seen.wait_for(step_of("restart_pod", "ok"), timeout=90, what="the restart")
            scaled = await seen.wait_for(step_of("scale_up", "ok"), timeout=120, what="the scale-up")
            assert await replicas(apps) == 2
            undone = await seen.wait_for(step_of("scale_up", "rolled_back"), timeout=150, what="the scale-down")
            assert await replicas(apps) == 1
            await seen.wait_for(audit("scale_up", "rolled_back"), what="the scale-down audited")
        finally:
            stop.set()
            await watching
        first, second = json.loads(restart.data)["remediation_id"], json.loads(scaled.data)["remediation_id"]
        assert json.loads(undone.data)["remediation_id"] == second
        await eventually(lambda: all_told(seen, first, second), timeout=30, what="every step told by the notifier")

    services.stop("remediator")  # before the sandbox goes: nothing acts on a cluster that is gone
    runs = runs_of(seen)
    assert [r["state"] for r in runs[first]] == ["planned", "acted", "succeeded"]
    assert [r["state"] for r in runs[second]][:4] == ["planned", "acted", "succeeded", "succeeded"]
    assert [s["action"] for s in runs[second][3]["steps"]] == ["scale_up", "scale_up"]
    recurred = [json.loads(m.data) for m in seen.messages if audit("restart_pod", "recurred")(m)]
    assert [r["remediation_id"] for r in recurred] == [second], "the second run knew the restart had not held"
    for action, decision in [("restart_pod", "acted"), ("scale_up", "acted"), ("scale_up", "verified")]:
        assert any(audit(action, decision)(m) for m in seen.messages), f"{action} {decision} not audited"
    killed = {pod for pod, reason in standin.reported if reason == "OOMKilled"}
    assert len(killed) >= 2, f"the pod and its replacement both ran out of memory: {standin.reported}"


def all_told(seen: Recorder, *remediation_ids: str) -> bool:
    """Each publication of each run but `planned` (which the notifier keeps quiet) was delivered."""
    runs = runs_of(seen)
    return all(len(told(seen, rid)) >= sum(1 for r in runs[rid] if r["state"] != "planned") for rid in remediation_ids)
