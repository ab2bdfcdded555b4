"""Maintenance windows stop healing: during `healer silence --duration 2h --reason "scheduled maintenance"` (no
matchers: the whole installation) an OOM loop is seen, grouped and recorded, but its pod is not restarted, and
the audit says which silence held it; once the silence ends, the next occurrence is healed. A silence that
mutes notifications only (`--notify-only`) lets the remediator heal as usual.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.testing import KubeEmulator, ServiceRunner, recording
from tests.support.cluster_objects import seed_deployment
from tests.support.remediation_helpers import audit, cluster_changes, healer, remediation

pytestmark = pytest.mark.integration


async def oom(bus: BusClient, pod: str) -> None:
    event = condition_event(f"cto/{pod}", "OOMKilled", source="maintenance-test")
    await bus.publish_raw(bus.space.custom_events("ci"), event.model_dump_json().encode(), {"Nats-Msg-Id": event.id})


async def start(kube: KubeEmulator, services: ServiceRunner, tmp_path: Path) -> str:
    """The OOM loop's pod on the emulator, and detector, correlator and remediator acting on it."""
    _, first = seed_deployment(kube, "cto", "rex", replicas=1)
    services.configure("cluster", kubeconfig=tmp_path / "kubeconfig")
    services.configure("remediator", tick_s=0.2, memory_timeout_s=0.5)
    services.start("detector", "correlator", "remediator")
    await services.wait_running()
    return str(first["metadata"]["name"])


def restarts_of(pod: str) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        if not remediation("acted")(msg):
            return False
        return f"DELETE /api/v1/namespaces/cto/pods/{pod}" in json.loads(msg.data)["steps"][-1]["api_calls"]

    return match


async def test_a_maintenance_window_holds_an_oom_loop_and_the_next_occurrence_after_it_is_healed(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    pod = await start(kube, services, tmp_path)
    code, output = await healer(services, "silence", "--duration", "2h", "--reason", "scheduled maintenance")
    assert code == 0, output
    silence_id = re.search(r"silence ([0-9a-f]{12}) until", output).group(1)  # type: ignore[union-attr]

    async with recording(bus, f"{bus.space.root}.>") as seen:
        await oom(bus, pod)
        held = json.loads((await seen.wait_for(audit("remediation", "held"), what="the run held")).data)
        assert held["reason"].startswith(f"held by silence {silence_id}: scheduled maintenance (until ")
        await oom(bus, pod)  # the loop goes on during the window
        assert cluster_changes(kube) == [], "nothing acted on the cluster during the window"
        assert not [m for m in seen.messages if remediation()(m)], "no run started while held"

        code, output = await healer(services, "silence", "expire", silence_id)
        assert code == 0, output
        await oom(bus, pod)  # the next occurrence, after the window

        # the unmuted incident's next revision comes within correlator.group_interval_s (30 s)
        restarted = await seen.wait_for(restarts_of(pod), timeout=60, what="the pod restarted after the window")
    assert json.loads(restarted.data)["cluster"] == "default"
    assert ("DELETE", f"/api/v1/namespaces/cto/pods/{pod}") in kube.mutating_requests()


async def test_a_silence_that_mutes_notifications_only_lets_the_remediator_heal(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    pod = await start(kube, services, tmp_path)
    code, output = await healer(
        services, "silence", "--duration", "2h", "--reason", "known noisy", "--namespace", "cto", "--notify-only"
    )
    assert code == 0, output

    async with recording(bus, f"{bus.space.root}.>") as seen:
        await oom(bus, pod)
        await seen.wait_for(restarts_of(pod), timeout=30, what="the pod restarted despite the silence")
        incident = next(json.loads(m.data) for m in seen.messages if ".incidents." in m.subject)
    assert incident["silenced"] is True, "the incident is silenced: nobody is told"
    assert not [m for m in seen.messages if audit("remediation", "held")(m)]
