"""Issue 3's done-when: the cluster's API server stops for 30 seconds and starts again. Meanwhile the collector
reports the cluster Unreachable (in `healer status --all` and as SourceUnreachable, the detector's H0);
afterwards it resumes its watches, reports what changed while it was blind, and repeats nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from healer_common.contract.health import ClusterHealth
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.heartbeat import read_cluster_health
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings.collector import KubernetesSourceSettings
from healer_common.testing import KubeEmulator, ServiceRunner, event_kind, eventually, recording
from services.collector.sources import samples

pytestmark = pytest.mark.integration
CLUSTER = "sandbox"
OUTAGE_S = 30.0
PODS = 40


def condition(msg: RawMessage) -> dict[str, Any] | None:
    if event_kind(msg.subject) != "condition":
        return None
    data: dict[str, Any] = json.loads(msg.data)["data"]
    return data


def said(reason: str, name: str) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        data = condition(msg)
        return data is not None and data["reason"] == reason and data["resource"]["name"] == name

    return match


async def cluster_health(runner: ServiceRunner) -> ClusterHealth | None:
    redis = connect_redis(runner.settings)
    try:
        found = await read_cluster_health(redis, KeySpace(runner.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    return next((h for h in found if h.cluster == CLUSTER), None)


def healer_status(runner: ServiceRunner) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    result = subprocess.run(
        [sys.executable, "-m", "healer_cli", "status", "--all", "--json", "--config", str(runner.config_path)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    report: dict[str, Any] = json.loads(result.stdout)
    report["exit_code"] = result.returncode
    return report


@pytest.mark.timeout(300)
async def test_an_api_server_down_for_30s_is_reported_unreachable_then_watched_again_without_a_flood(
    services: ServiceRunner, kube: KubeEmulator, bus: BusClient, tmp_path: Path
) -> None:
    for i in range(PODS):
        kube.put("", "v1", "pods", "cto", samples.pod(f"agent-{i}"))
    kube.put("", "v1", "nodes", None, samples.node("node-1"))
    services.configure("cluster", name=CLUSTER, kubeconfig=tmp_path / "kubeconfig")
    services.configure("collector", kubernetes=KubernetesSourceSettings(resync_s=1.0))

    async with recording(bus, bus.space.all_events) as seen:
        services.start("collector")
        await seen.wait_count(lambda m: (condition(m) or {}).get("reason") == "Ready", PODS, timeout=60)
        await eventually(lambda: _state(services, "Healthy"), timeout=30, what="cluster Healthy")

        kube.stop_server()
        stopped = time.monotonic()
        unreachable = await seen.wait_for(said("SourceUnreachable", "kubernetes"), timeout=30, what="H0's condition")
        await eventually(lambda: _state(services, "Unreachable"), timeout=30, what="cluster Unreachable")
        report = healer_status(services)
        crashed = samples.pod("agent-7", containers=[samples.waiting("agent", "CrashLoopBackOff", restarts=5)])
        kube.put("", "v1", "pods", "cto", crashed)  # changed while the collector could not see

        async def unreachable_until_the_outage_ends() -> bool:  # all along, not just once
            health = await cluster_health(services)
            assert health is not None, "the collector stopped reporting the cluster"
            assert health.state == "Unreachable", f"{time.monotonic() - stopped:.0f}s into the outage: {health}"
            return time.monotonic() - stopped >= OUTAGE_S

        await eventually(unreachable_until_the_outage_ends, timeout=OUTAGE_S + 30, interval=0.5, what="the outage")

        kube.start_server()
        await seen.wait_for(said("SourceHealthy", "kubernetes"), timeout=60, what="the source healthy again")
        await seen.wait_for(said("CrashLoopBackOff", "agent-7"), timeout=60, what="the change made while down")
        kube.api("PATCH", "/api/v1/namespaces/cto/pods/agent-0", {"metadata": {"labels": {"after": "outage"}}})
        kube.api("DELETE", "/api/v1/namespaces/cto/pods/agent-1")  # news after the replay: the replay is done
        await eventually(lambda: _state(services, "Healthy"), timeout=30, what="cluster Healthy again")
        marker = samples.pod("late-1", containers=[samples.waiting("late", "ImagePullBackOff")])
        kube.api("POST", "/api/v1/namespaces/cto/pods", marker)
        await seen.wait_for(said("ImagePullBackOff", "late-1"), timeout=30, what="a pod created after the outage")

    assert json.loads(unreachable.data)["cluster"] == CLUSTER
    [cluster] = report["clusters"]
    assert (cluster["cluster"], cluster["state"]) == (CLUSTER, "Unreachable")
    assert report["exit_code"] == 1, "an Unreachable cluster is something down"
    per_pod = Counter(
        (data["resource"]["name"], data["reason"])
        for m in seen.messages
        if (data := condition(m)) is not None and data["resource"]["kind"] == "Pod"
    )
    repeated = {key: n for key, n in per_pod.items() if n > 1}
    assert not repeated, f"the replay after the outage repeated conditions: {repeated}"
    assert per_pod[("agent-7", "CrashLoopBackOff")] == 1
    assert sum(per_pod.values()) == 2 * PODS + 3, "each pod: Running and Ready once; agent-7 its crash; late-1 both"


async def _state(runner: ServiceRunner, state: str) -> bool:
    health = await cluster_health(runner)
    return health is not None and health.state == state
