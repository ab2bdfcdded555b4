"""The OOM loop, through detector, correlator, remediator, notifier and memory-bridge: a pod that keeps running
out of memory is restarted; its successor OOMs too, so the restart is judged failed and the Deployment is
scaled up; the load spreads, the alerts resolve, the run is verified; when the rollback window ends the
Deployment is scaled back down. Every step is audited and published for the notifier.

The test plays the cluster's controllers on the Kubernetes emulator: it starts the successor pod after the
restart, and reports the pods Ready once the Deployment has grown.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.contract.events import ResourceRef
from healer_common.runtime.busclient import BusClient
from healer_common.testing import KubeEmulator, ServiceRunner, eventually, recording
from tests.support.cluster_objects import pod_of, seed_deployment
from tests.support.remediation_helpers import (
    audit,
    opened,
    playbook_doc,
    publish,
    remediation,
    resolved,
    start_remediator,
    write_playbooks,
)

pytestmark = pytest.mark.integration

FAST_OOM_PLAYBOOK = playbook_doc(
    "oom-restart-then-scale",  # replaces the built-in of that name, with windows a test can wait for
    {"type": "restart_pod", "timeout": "4s"},
    {"type": "scale_up", "condition": "restart_failed", "timeout": "60s", "params": {"by": 1, "maxReplicas": 3}},
    {"type": "create_coderun", "condition": "scale_failed"},
    trigger={"alerts": ["H8"], "targetKinds": ["Pod"]},
    rollback={"enabled": True, "window": "6s"},
)


async def condition(bus: BusClient, pod: str, reason: str) -> None:
    event = condition_event(f"cto/{pod}", reason, source="oom-loop-test")
    await bus.publish_event(bus.space.custom_events("sandbox"), event)


def replicas(kube: KubeEmulator) -> int:
    deployment = kube.get("apps", "v1", "deployments", "cto", "rex")
    assert deployment is not None
    return int(deployment["spec"]["replicas"])


async def test_an_oom_loop_is_restarted_then_scaled_up_then_scaled_back_when_the_window_ends(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    _, first = seed_deployment(kube, "cto", "rex", replicas=1)
    first_pod = first["metadata"]["name"]
    write_playbooks(tmp_path / "playbooks", FAST_OOM_PLAYBOOK)
    services.configure("cluster", kubeconfig=tmp_path / "kubeconfig")
    services.configure("remediator", playbook_paths=[tmp_path / "playbooks"], tick_s=0.2, memory_timeout_s=2.0)
    services.start("detector", "correlator", "remediator", "notifier", "memory-bridge")
    await services.wait_running()

    async with recording(bus, f"{bus.space.root}.>") as seen:
        await condition(bus, first_pod, "OOMKilled")
        restarted = json.loads((await seen.wait_for(remediation("acted"), what="the restart")).data)
        assert restarted["steps"][-1]["api_calls"] == [f"DELETE /api/v1/namespaces/cto/pods/{first_pod}"]

        successor = pod_of(kube.get("apps", "v1", "replicasets", "cto", "rex-1abc"), "cto", "rex-1abc-x9")
        kube.put("", "v1", "pods", "cto", successor)
        await condition(bus, "rex-1abc-x9", "OOMKilled")

        scaled = json.loads(
            (await seen.wait_for(remediation("acted", revision=3), what="the scale-up", timeout=60)).data
        )
        assert [s["action"] for s in scaled["steps"]] == ["restart_pod", "scale_up"]
        assert replicas(kube) == 2
        await seen.wait_for(audit("restart_pod", "not_verified"), what="the restart judged failed")

        for pod in (first_pod, "rex-1abc-x9"):
            await condition(bus, pod, "Ready")
        verified = json.loads(
            (await seen.wait_for(remediation("succeeded"), what="verified recovery", timeout=60)).data
        )
        assert "after scale" in verified["reason"]

        await eventually(lambda: replicas(kube) == 1, timeout=60, what="the scale-down at the window's end")
        back = await seen.wait_for(remediation("succeeded", revision=verified["revision"] + 1), what="republished run")
        assert json.loads(back.data)["steps"][-1]["outcome"] == "rolled_back"

        for action, decision in [
            ("restart_pod", "acted"),
            ("scale_up", "acted"),
            ("scale_up", "verified"),
            ("run", "succeeded"),
            ("scale_up", "rolled_back"),
        ]:
            await seen.wait_for(audit(action, decision), what=f"audit of {action} {decision}")
        states = [json.loads(m.data)["state"] for m in seen.messages if remediation()(m)]
        assert states == ["planned", "acted", "acted", "succeeded", "succeeded"]

    changes = [c for c in kube.mutating_requests() if "/remediationrecords" not in c[1]]
    assert changes == [
        ("DELETE", f"/api/v1/namespaces/cto/pods/{first_pod}"),
        ("PATCH", "/apis/apps/v1/namespaces/cto/deployments/rex"),
        ("PATCH", "/apis/apps/v1/namespaces/cto/deployments/rex"),
    ]
    await eventually(
        lambda: "Remediation oom-restart-then-scale on pod" in services.running["notifier"].log(),
        what="the notifier telling people",
    )


async def test_a_restart_that_does_not_hold_sends_the_next_incident_straight_to_the_scale_up(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    _, first = seed_deployment(kube, "cto", "rex", replicas=1)
    first_pod = ResourceRef(kind="Pod", namespace="cto", name=first["metadata"]["name"])
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        once = opened("inc-first-oom", first_pod)
        await publish(bus, once)
        await seen.wait_for(remediation("acted", incident_id="inc-first-oom"), what="the restart")
        await publish(bus, resolved(once))
        await seen.wait_for(remediation("succeeded", incident_id="inc-first-oom"), what="the restart verified")

        successor = pod_of(kube.get("apps", "v1", "replicasets", "cto", "rex-1abc"), "cto", "rex-1abc-x9")
        kube.put("", "v1", "pods", "cto", successor)
        await publish(bus, opened("inc-again", ResourceRef(kind="Pod", namespace="cto", name="rex-1abc-x9")))
        again = json.loads((await seen.wait_for(remediation("acted", incident_id="inc-again"), what="2nd run")).data)
        noted = json.loads((await seen.wait_for(audit("restart_pod", "recurred"), what="the recurrence")).data)

    assert [s["action"] for s in again["steps"]] == ["scale_up"], "not another restart: the first did not hold"
    assert "restart did not hold, so oom-restart-then-scale goes on after it" in noted["reason"]
    assert replicas(kube) == 2
