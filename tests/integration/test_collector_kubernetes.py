"""The collector reading a cluster (the kmock emulator, through the official client) as a user sees it on the
bus: each trouble a condition naming the cluster and where the pod sits, rollouts as changes, ArgoCD drift,
and a restart of the collector's watches that replays the cluster without repeating what was said."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from healer_common.contract.health import ClusterHealth
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.heartbeat import read_cluster_health
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import CollectedCluster
from healer_common.settings.collector import KubernetesSourceSettings
from healer_common.testing import KubeEmulator, Recorder, ServiceRunner, event_kind, eventually, recording
from services.collector.sources import samples

pytestmark = pytest.mark.integration
CLUSTER = "prod-eu-1"


def event(msg: RawMessage) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(msg.data)
    return body


def condition(reason: str, name: str | None = None) -> Callable[[RawMessage], bool]:
    def match(msg: RawMessage) -> bool:
        if event_kind(msg.subject) != "condition":
            return False
        data = event(msg)["data"]
        return bool(data["reason"] == reason and (name is None or data["resource"]["name"] == name))

    return match


def conditions_about(seen: Recorder, name: str) -> list[str]:
    return [
        event(m)["data"]["reason"]
        for m in seen.messages
        if event_kind(m.subject) == "condition" and event(m)["data"]["resource"]["name"] == name
    ]


def recent(seconds: float = 5) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)


@pytest.fixture
def collector(services: ServiceRunner, kube: KubeEmulator, tmp_path: Path) -> ServiceRunner:
    services.configure("cluster", name=CLUSTER, kubeconfig=tmp_path / "kubeconfig")
    services.configure("collector", kubernetes=KubernetesSourceSettings(resync_s=1.0))
    return services


def seed(kube: KubeEmulator, *objects: tuple[str, str, str, dict[str, Any]]) -> None:
    for group, version, plural, body in objects:
        kube.put(group, version, plural, body["metadata"].get("namespace"), body)


async def test_pod_and_node_troubles_arrive_as_conditions_naming_the_cluster_and_where_the_pod_sits(
    collector: ServiceRunner, kube: KubeEmulator, bus: BusClient
) -> None:
    oom = samples.running("rex", restarts=1) | {"lastState": samples.terminated("OOMKilled", 137, recent())}
    seed(
        kube,
        ("apps", "v1", "replicasets", samples.replicaset("api-7d9", "api")),
        ("", "v1", "pods", samples.pod("rex-1", containers=[oom], labels={"agent": "5DLabs-Rex", "task-id": "42"})),
        (
            "",
            "v1",
            "pods",
            samples.pod(
                "api-7d9-x2",
                owner=("ReplicaSet", "api-7d9"),
                containers=[samples.waiting("api", "CrashLoopBackOff", restarts=4)],
            ),
        ),
        (
            "",
            "v1",
            "pods",
            samples.pod(
                "web-1",
                phase="Pending",
                containers=[samples.waiting("web", "ImagePullBackOff", image="example/web:typo")],
            ),
        ),
        ("", "v1", "nodes", samples.node("node-1", pressures=("MemoryPressure",))),
    )
    async with recording(bus, bus.space.all_events) as seen:
        collector.start("collector")

        oom_msg = await seen.wait_for(condition("OOMKilled", "rex-1"), timeout=60, what="OOMKilled of rex-1")
        crash = await seen.wait_for(condition("CrashLoopBackOff", "api-7d9-x2"), what="CrashLoopBackOff")
        pull = await seen.wait_for(condition("ImagePullBackOff", "web-1"), what="ImagePullBackOff")
        pressure = await seen.wait_for(condition("MemoryPressure", "node-1"), what="node MemoryPressure")

    assert bus.space.without_partition(oom_msg.subject) == bus.space.events("kubernetes", "condition")
    assert {event(m)["cluster"] for m in (oom_msg, crash, pull, pressure)} == {CLUSTER}
    oom_data = event(oom_msg)["data"]
    assert oom_data["resource"] == {"kind": "Pod", "namespace": "cto", "name": "rex-1", "container": "rex"}
    assert oom_data["message"] == "container rex was OOMKilled (limit 512Mi)"
    assert (oom_data["labels"]["agent"], oom_data["labels"]["task-id"], oom_data["labels"]["node"]) == (
        "5DLabs-Rex",
        "42",
        "node-1",
    )
    assert event(crash)["data"]["labels"]["deployment"] == "api"
    assert event(crash)["data"]["labels"]["restarts"] == "4"
    assert event(pull)["data"]["labels"]["image"] == "example/web:typo"


async def test_a_rollout_is_a_change_and_a_pod_that_recovers_says_ready_once(
    collector: ServiceRunner, kube: KubeEmulator, bus: BusClient
) -> None:
    seed(
        kube,
        ("apps", "v1", "deployments", samples.deployment("api", image="example/api:1.4.2", revision=3)),
        ("", "v1", "pods", samples.pod("rex-1", containers=[samples.waiting("rex", "CrashLoopBackOff", restarts=3)])),
        ("", "v1", "nodes", samples.node("node-1")),  # its capacity is sampled at each resync: a clock to wait on
    )
    async with recording(bus, bus.space.all_events) as seen:
        collector.start("collector")
        await seen.wait_for(condition("CrashLoopBackOff", "rex-1"), timeout=60, what="the crash loop")

        kube.api("PATCH", "/apis/apps/v1/namespaces/cto/deployments/api", {
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "4"}},
            "spec": {"template": {"spec": {"containers": [{"name": "api", "image": "example/api:1.5.0"}]}}},
        })  # fmt: skip
        change = await seen.wait_for(lambda m: event_kind(m.subject) == "change", what="the rollout as a change")
        kube.api(
            "PATCH",
            "/api/v1/namespaces/cto/pods/rex-1",
            {"status": {"containerStatuses": [samples.running("rex", restarts=3)]}},
        )
        await seen.wait_for(condition("Ready", "rex-1"), what="rex-1 Ready")
        kube.api("PATCH", "/api/v1/namespaces/cto/pods/rex-1", {"metadata": {"labels": {"touched": "yes"}}})
        kube.api("PATCH", "/apis/apps/v1/namespaces/cto/deployments/api", {"metadata": {"labels": {"touched": "yes"}}})
        resyncs = len([m for m in seen.messages if event_kind(m.subject) == "metrics"])
        await seen.wait_count(lambda m: event_kind(m.subject) == "metrics", resyncs + 3)  # resyncs came and went

    data = event(change)["data"]
    assert bus.space.without_partition(change.subject) == bus.space.events("kubernetes", "change")
    assert (data["what"], data["from"], data["to"]) == ("deploy", "example/api:1.4.2", "example/api:1.5.0")
    assert data["resource"] == {"kind": "Deployment", "namespace": "cto", "name": "api", "container": None}
    said = conditions_about(seen, "rex-1")
    assert said == ["PodRunning", "CrashLoopBackOff", "Ready"], "an unchanged state is not said twice"
    assert len([m for m in seen.messages if event_kind(m.subject) == "change"]) == 1


async def test_argocd_drift_is_reported_on_its_own_source_with_the_revisions(
    collector: ServiceRunner, kube: KubeEmulator, bus: BusClient
) -> None:
    seed(kube, ("argoproj.io", "v1alpha1", "applications", samples.application("platform")))
    async with recording(bus, bus.space.all_events) as seen:
        collector.start("collector")
        await seen.wait_for(condition("Synced", "platform"), timeout=60, what="the application Synced")

        kube.api("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/platform", {
            "status": {"sync": {"status": "OutOfSync", "revision": "def456"}, "health": {"status": "Degraded"}},
        })  # fmt: skip
        drift = await seen.wait_for(condition("OutOfSync", "platform"), what="the drift")
        await seen.wait_for(condition("Degraded", "platform"), what="the degraded health")

    assert bus.space.without_partition(drift.subject) == bus.space.events("argocd", "condition")
    labels = event(drift)["data"]["labels"]
    assert (labels["revision"], labels["deployed_revision"], labels["application"]) == ("def456", "abc123", "platform")
    assert dt.datetime.fromisoformat(labels["since"]) > recent(120)


async def test_one_collector_reads_two_clusters_and_every_event_names_its_own(
    services: ServiceRunner, kube: KubeEmulator, bus: BusClient, tmp_path: Path
) -> None:
    staging = KubeEmulator().start()
    try:
        kube.put("", "v1", "pods", "cto", samples.pod("rex-1", containers=[samples.waiting("rex", "ErrImagePull")]))
        staging.put("", "v1", "pods", "cto", samples.pod("rex-1"))
        services.configure(
            "collector",
            clusters=[
                CollectedCluster(name="prod", kubeconfig=tmp_path / "kubeconfig"),
                CollectedCluster(name="staging", kubeconfig=staging.write_kubeconfig(tmp_path / "staging")),
            ],
        )
        async with recording(bus, bus.space.all_events) as seen:
            services.start("collector")
            pulled = await seen.wait_for(condition("ErrImagePull", "rex-1"), timeout=60, what="prod's pull failure")
            ready = await seen.wait_for(condition("Ready", "rex-1"), what="staging's ready pod")
        redis = connect_redis(services.settings)
        try:
            keys = KeySpace(services.settings.redis.key_prefix)
            healths = await eventually(lambda: _both_reported(redis, keys), what="both clusters' health")
        finally:
            await redis.aclose()
    finally:
        staging.stop()

    assert (event(pulled)["cluster"], event(ready)["cluster"]) == ("prod", "staging")
    assert {h.cluster: h.state for h in healths} == {"prod": "Healthy", "staging": "Healthy"}


async def _both_reported(redis: Redis, keys: KeySpace) -> list[ClusterHealth] | None:
    found = await read_cluster_health(redis, keys)
    return (
        found
        if {h.cluster for h in found} == {"prod", "staging"} and all(h.state == "Healthy" for h in found)
        else None
    )
