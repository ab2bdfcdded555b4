"""A pod gone is never alerted on: the real collector (its Prometheus source on the sandbox's Prometheus and its
pod watch) and the detector, with a fresh pod read once at 0.97 of its memory limit, then OOM-killed and
deleted before its next reading, as a restart_pod right after an OOM kill does.

One reading gives its series no cadence, so the detector cannot tell from silence alone that it ended; the
collector's PodDeleted must end it, or H8 'container memory over limit ... for 60s' fires a minute after the pod
is gone and the remediator acts on a pod that no longer exists.

Absence is proven against a control, not by sleeping: the pod that replaces it reads just as high and lives on,
so its H8 fires once the (shortened) hold has passed; by then the deleted pod's would have fired too.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from healer_common.runtime.busclient import BusClient
from healer_common.settings.collector import KubernetesSourceSettings
from healer_common.settings.detector import MemoryPressure, RuleSettings
from healer_common.testing import Recorder, ServiceRunner, eventually, recording
from healer_sandbox import kinds
from healer_sandbox.kubelet import oom_kill
from healer_sandbox.sandbox import Sandbox
from healer_sandbox.store import meta
from services.remediator.actions.cluster import kube as call
from tests.support.sandbox_support import kube, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
HOLD_S = 10.0
"""H8's hold in this test: long enough that the deleted pod's single reading would fire if nothing ended it."""


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Sandbox]:
    async with running_sandbox(tmp_path, "leaking-pod", speed=30.0, hold=True) as running:
        yield running


def rex_pods(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [p for p in sandbox.world.cluster.store.items(kinds.PODS) if meta(p)["name"].startswith("rex-worker")]


def memory_readings(seen: Recorder, pod: str) -> list[float]:
    samples = [s for body in seen.bodies() for s in (body.get("data") or {}).get("samples") or []]
    return [
        s["value"] for s in samples if s["name"] == "container_memory_usage_ratio" and s["labels"].get("pod") == pod
    ]


def memory_alerts(seen: Recorder, pod: str) -> list[dict[str, Any]]:
    return [
        a
        for a in seen.bodies()
        if a.get("alert_id") == "H8"
        and a.get("labels", {}).get("metric") == "container_memory_usage_ratio"
        and (a.get("resource") or {}).get("name") == pod
    ]


async def _high_memory_pod_after(sandbox: Sandbox, core: Any, old: Any, seen: Recorder) -> tuple[Any, str]:
    """Delete `old`; its ReplicaSet's next pod gets memory at 97 % of its limit: the pod, once read."""
    await call(core.delete_namespaced_pod, meta(old)["name"], "cto")
    await eventually(lambda: len(rex_pods(sandbox)) == 1 and rex_pods(sandbox)[0] is not old, timeout=30)
    [fresh] = rex_pods(sandbox)
    name = meta(fresh)["name"]
    sandbox.world.cluster.memory[(meta(fresh)["uid"], "rex")] = 0.97
    await eventually(lambda: memory_readings(seen, name) != [], timeout=60, what="the fresh pod's first reading")
    return fresh, name


async def test_a_pod_deleted_after_one_high_reading_gets_no_memory_alert(
    sandbox: Sandbox, services: ServiceRunner, bus: BusClient
) -> None:
    services.configure("cluster", kubeconfig=sandbox.config.kubeconfig)
    services.configure(
        "collector",
        prometheus_url=sandbox.prometheus.url,
        kubernetes=KubernetesSourceSettings(history_after_s=8, resync_s=1),
    )
    services.configure("detector", rules=RuleSettings(h8=MemoryPressure(for_s=HOLD_S)))
    services.start("collector", "detector")
    await services.wait_running(timeout=60)
    core = client.CoreV1Api(kube(sandbox))
    [old] = rex_pods(sandbox)
    cluster = sandbox.world.cluster

    async with recording(bus, f"{bus.space.root}.>") as seen:
        for _attempt in range(3):  # a loaded machine may scrape a fresh pod before its memory is set: take another
            fresh, name = await _high_memory_pod_after(sandbox, core, old, seen)
            if memory_readings(seen, name) == [0.97]:
                break
            old = fresh
        oom_kill(cluster, fresh, "rex", sandbox.clock.now())
        sandbox.world.scrape()  # its series ends now, as the next scrape would end it
        await call(core.delete_namespaced_pod, name, "cto")
        assert memory_readings(seen, name) == [0.97], "one reading only: the case with no cadence"

        await eventually(lambda: len(rex_pods(sandbox)) == 1 and rex_pods(sandbox)[0] is not fresh, timeout=30)
        [control] = rex_pods(sandbox)
        cluster.memory[(meta(control)["uid"], "rex")] = 0.97
        await eventually(
            lambda: memory_alerts(seen, meta(control)["name"]) != [],
            timeout=HOLD_S + 60,
            what="the control pod's H8, which fires once the hold has passed",
        )

    assert memory_alerts(seen, name) == [], json.dumps(memory_alerts(seen, name), indent=1)
    assert memory_readings(seen, name) == [0.97]
