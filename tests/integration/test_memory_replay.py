"""Learning from outcomes, as a user sees it on the sandbox: the same incident, played twice, is healed faster
the second time because memory remembers what healed it the first time.

The whole pipeline runs on the sandbox cluster (the real collector reading its Kubernetes, Prometheus and Loki
APIs, detector, correlator, remediator, notifier and memory-bridge), with the leaking-pod scenario held until
replayed (`healer sandbox replay leaking-pod`, as a user would run it). The first time, the remediator follows
its playbook: it restarts the pod, the fresh pod runs out of memory too, so the restart did not hold and the
Deployment gets one more replica, which outlasts the leak. Memory-bridge remembers that the scale-up healed it
and the restart did not hold. The second time, memory's recommendation is above the remediator's threshold,
so the scale-up comes first: one step instead of two, and a shorter time to recovery.

How the pipeline is set up for a scenario 30 times faster than real time is in `replay_support.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kubernetes import client

from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, recording
from healer_sandbox.sandbox import Sandbox
from tests.support.markers import WHOLE_SYSTEM
from tests.support.replay_support import SPEED, configure_pipeline, play_once
from tests.support.sandbox_support import kube, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240), WHOLE_SYSTEM]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path, "leaking-pod", speed=SPEED, hold=True) as running:
        yield running


async def test_the_same_incident_played_twice_is_healed_by_the_remembered_fix_and_faster(
    sandbox: Sandbox, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    configure_pipeline(services, sandbox, tmp_path)
    services.start("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge")
    await services.wait_running(timeout=60)
    apps = client.AppsV1Api(kube(sandbox))

    async with recording(bus, f"{bus.space.root}.>") as seen:
        first = await play_once(sandbox, seen, apps)
        second = await play_once(sandbox, seen, apps)
    services.stop("remediator")  # before the sandbox goes: nothing acts on a cluster that is gone
    print(f"time to recovery: first {first.time_to_recovery_s:.1f}s, second {second.time_to_recovery_s:.1f}s")

    assert first.actions() == ["restart_pod", "scale_up"], "the first time: the playbook, restart then scale"
    assert first.healed_by() == ["restart", "scale"]
    assert first.memory_applied(seen) == [], "memory knew nothing yet (and the restart's recurrence outranks it)"

    assert second.actions() == ["scale_up"], "the second time: the remembered fix first, and only"
    assert second.healed_by() == ["scale"]
    [applied] = second.memory_applied(seen)
    [remembered] = {m for r in second.runs.values() for m in r[-1]["memory_ids"]}
    assert applied["details"]["memory_id"] == remembered
    assert float(applied["details"]["confidence"]) > 0.9
    assert f"memory {remembered}" in applied["reason"]
    assert "starting oom-restart-then-scale at scale_up" in applied["reason"]

    assert second.time_to_recovery_s < first.time_to_recovery_s, f"{first.story()}\n---\n{second.story()}"
    notes = services.running["notifier"].log()
    for played in (first, second):
        assert f"recovered in {played.recovered_in}" in notes, f"the closing note of {played.recovered_in}"
