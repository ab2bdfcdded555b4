"""The prometheus source against Debian's real Prometheus, scraping an exporter that speaks kube-state-metrics,
cAdvisor, the kubelet, node-exporter, postgres_exporter and RabbitMQ: the default query pack runs as PromQL on
a real engine and its answers arrive on the bus as the signals the detector reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import Counter, Gauge

from healer_common.clock import SystemClock
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_prometheus
from healer_common.settings.collector import PrometheusQuery, PrometheusSourceSettings, RetrySettings
from healer_common.testing import PrometheusHarness, Recorder, eventually, recording
from services.collector.outbox import Outbox
from services.collector.sight import SourceSight
from services.collector.sources import samples
from services.collector.sources.http_reads import Polling
from services.collector.sources.prometheus import PrometheusSource
from services.collector.topology import Topology

pytestmark = pytest.mark.integration
QUICK = RetrySettings(attempts=2, backoff_s=0.1, max_backoff_s=0.2)
EXPORTED = {
    "container_memory_usage_ratio",
    "node_memory_usage_ratio",
    "pvc_usage_ratio",
    "node_memory_request_ratio",
    "container_restarts",
    "db_connection_pool_usage_ratio",
    "queue_depth",
}
"""The signals `export_a_cluster` feeds; each query sees them from the first scrape after its own time."""


def export_a_cluster(prometheus: PrometheusHarness) -> None:
    """One node, one pod near its memory limit, a filling PVC, a busy database and a growing queue."""
    registry = prometheus.registry

    def gauge(name: str, labels: dict[str, str], value: float) -> None:
        metric = Gauge(name, name, list(labels), registry=registry)
        (metric.labels(**labels) if labels else metric).set(value)

    rex = {"namespace": "cto", "pod": "rex-1", "container": "rex"}
    gauge("node_memory_MemTotal_bytes", {}, 16e9)
    gauge("node_memory_MemAvailable_bytes", {}, 4e9)
    gauge("node_uname_info", {"nodename": "node-1"}, 1)
    gauge("container_memory_working_set_bytes", rex, 900e6)
    gauge("kube_pod_container_resource_limits", {**rex, "resource": "memory", "unit": "byte"}, 1000e6)
    gauge("kube_pod_container_resource_requests", {**rex, "node": "node-1", "resource": "memory", "unit": "byte"}, 4e9)
    gauge("kube_node_status_allocatable", {"node": "node-1", "resource": "memory", "unit": "byte"}, 16e9)
    gauge("kubelet_volume_stats_used_bytes", {"namespace": "cto", "persistentvolumeclaim": "data-pg-0"}, 8e9)
    gauge("kubelet_volume_stats_capacity_bytes", {"namespace": "cto", "persistentvolumeclaim": "data-pg-0"}, 10e9)
    gauge("pg_stat_activity_count", {"namespace": "db", "datname": "orders", "state": "active"}, 95)
    gauge("pg_settings_max_connections", {"namespace": "db"}, 100)
    gauge("rabbitmq_queue_messages_ready", {"namespace": "cto", "queue": "builds"}, 1523)
    Counter("kube_pod_container_status_restarts", "restarts", list(rex), registry=registry).labels(**rex).inc(4)


def source(
    url: str, bus: BusClient, settings: PrometheusSourceSettings, topology: Topology | None = None
) -> tuple[PrometheusSource, SourceSight]:
    clock = SystemClock()
    sight = SourceSight("prometheus", clock.now(), unreachable_after=1)
    outbox = Outbox(bus.publish_raw, bus.space, "prod-eu-1", clock, partitions=bus.settings.scale.partitions)
    topology = topology or Topology()
    polling = Polling(url, QUICK, sight, outbox, topology.enrich, clock, topology.names_gone_pod)
    return PrometheusSource(polling, settings), sight


def published(seen: Recorder) -> dict[str, list[dict[str, Any]]]:
    by_name: dict[str, list[dict[str, Any]]] = {}
    for body in seen.bodies():
        for sample in body["data"].get("samples", []):
            by_name.setdefault(sample["name"], []).append(sample)
    return by_name


def reasons(seen: Recorder) -> list[str]:
    return [b["data"]["reason"] for b in seen.bodies() if b["type"] == "healer.condition.v1"]


async def test_the_default_pack_turns_exporter_metrics_into_the_detector_s_signals(
    prometheus: PrometheusHarness, bus: BusClient
) -> None:
    export_a_cluster(prometheus)
    topology = Topology()
    topology.observe_pod(("cto", "rex-1"), samples.pod("rex-1", node="node-1", labels={"agent": "5DLabs-Rex"}))
    collector, _ = source(prometheus.url, bus, PrometheusSourceSettings(backfill_s=0), topology)

    async with (
        httpx.AsyncClient(base_url=prometheus.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):

        async def all_signals_in() -> bool:
            await collector.read(http)
            return set(published(seen)) >= EXPORTED

        await eventually(all_signals_in, timeout=60, interval=0.5, what="Prometheus to have scraped the exporter")

    by_name = {name: found[-1] for name, found in published(seen).items()}
    metrics = [
        m for m in seen.messages if bus.space.without_partition(m.subject) == bus.space.events("prometheus", "metrics")
    ]
    assert {json.loads(m.data)["cluster"] for m in metrics} == {"prod-eu-1"}
    memory = by_name["container_memory_usage_ratio"]
    assert memory["value"] == pytest.approx(0.9)
    assert memory["labels"] == {
        "namespace": "cto",
        "pod": "rex-1",
        "container": "rex",
        "node": "node-1",
        "agent": "5DLabs-Rex",
    }
    assert by_name["node_memory_usage_ratio"]["value"] == pytest.approx(0.75)
    assert by_name["node_memory_usage_ratio"]["labels"] == {"node": "node-1"}
    assert by_name["pvc_usage_ratio"]["value"] == pytest.approx(0.8)
    assert by_name["node_memory_request_ratio"]["value"] == pytest.approx(0.25)
    assert by_name["container_restarts"]["value"] == 4
    assert by_name["db_connection_pool_usage_ratio"]["value"] == pytest.approx(0.95)
    assert by_name["db_connection_pool_usage_ratio"]["labels"] == {"namespace": "db", "database": "orders"}
    assert by_name["queue_depth"]["labels"] == {"namespace": "cto", "queue": "builds"}
    assert reasons(seen)[:1] == ["SourceHealthy"]


async def test_a_pod_the_watch_saw_deleted_is_not_read_again_until_it_comes_back(
    prometheus: PrometheusHarness, bus: BusClient
) -> None:
    """Prometheus still answers a deleted pod's last reading (until its next scrape, or 5 minutes): published
    after the pod's PodDeleted, it would start the pod's series again and fire H8 about a pod that is gone."""
    export_a_cluster(prometheus)
    topology = Topology()
    topology.observe_pod(("cto", "rex-1"), samples.pod("rex-1", node="node-1"))
    collector, _ = source(prometheus.url, bus, PrometheusSourceSettings(backfill_s=0), topology)

    def memory_pods(seen: Recorder) -> list[str]:
        return [s["labels"]["pod"] for s in published(seen).get("container_memory_usage_ratio", [])]

    async with httpx.AsyncClient(base_url=prometheus.url, timeout=5) as http:
        async with recording(bus, bus.space.all_events) as live:

            async def scraped() -> bool:
                await collector.read(http)
                return bool(memory_pods(live))

            await eventually(scraped, timeout=60, interval=0.5, what="Prometheus to have scraped the exporter")

        topology.forget_pod(("cto", "rex-1"))
        async with recording(bus, bus.space.all_events) as after_delete:
            await collector.read(http)
            await eventually(lambda: bool(published(after_delete)), timeout=10, what="the read after the deletion")

        topology.observe_pod(("cto", "rex-1"), samples.pod("rex-1", node="node-1"))  # a StatefulSet's pod returns
        async with recording(bus, bus.space.all_events) as back:
            await collector.read(http)
            await eventually(lambda: bool(memory_pods(back)), timeout=10, what="the returned pod read again")

    assert memory_pods(live) == ["rex-1"]
    assert memory_pods(after_delete) == [], "the deleted pod's last reading is dropped"
    assert "node_memory_usage_ratio" in published(after_delete), "while everything else is still read"


async def test_history_is_backfilled_with_query_range_so_trends_start_at_once(
    prometheus: PrometheusHarness, bus: BusClient
) -> None:
    export_a_cluster(prometheus)
    queue = PrometheusQuery(query="# healer:queue_depth\nsum by (queue) (rabbitmq_queue_messages_ready)")
    settings = PrometheusSourceSettings(default_queries=False, queries=[queue], backfill_s=30, interval_s=1)

    async with (
        httpx.AsyncClient(base_url=prometheus.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):

        async def several_points() -> bool:
            fresh, _ = source(prometheus.url, bus, settings)  # a source that has just started backfills
            seen.messages.clear()
            await fresh.read(http)
            return len({s["time"] for s in published(seen).get("queue_depth", [])}) >= 3

        await eventually(several_points, timeout=60, interval=1.0, what="three scrapes of history")

    assert {s["value"] for s in published(seen)["queue_depth"]} == {1523.0}


async def test_a_query_prometheus_refuses_degrades_the_source_while_the_others_go_on(
    prometheus: PrometheusHarness, bus: BusClient
) -> None:
    export_a_cluster(prometheus)
    queries = [
        PrometheusQuery(query="sum(rabbitmq_queue_messages_ready", emit_as="queue_depth"),
        PrometheusQuery(
            query="# healer:pvc_usage_ratio\nkubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes"
        ),
    ]
    collector, sight = source(
        prometheus.url, bus, PrometheusSourceSettings(default_queries=False, queries=queries, backfill_s=0)
    )

    async with (
        httpx.AsyncClient(base_url=prometheus.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):

        async def pvc_read() -> bool:
            await collector.read(http)
            return "pvc_usage_ratio" in published(seen)

        await eventually(pvc_read, timeout=60, interval=0.5, what="the good query's samples")

    health = sight.health()
    assert health.state == "Degraded"
    assert health.error is not None
    assert health.error.startswith("queue_depth: HTTP 400: bad_data:")
    assert "queue_depth" not in published(seen)


async def test_a_stopped_prometheus_is_unreachable_and_healthy_again_when_it_returns(
    prometheus: PrometheusHarness, bus: BusClient, tmp_path: Path
) -> None:
    export_a_cluster(prometheus)
    collector, sight = source(prometheus.url, bus, PrometheusSourceSettings(backfill_s=0))

    async with (
        httpx.AsyncClient(base_url=prometheus.url, timeout=2) as http,
        recording(bus, bus.space.all_events) as seen,
    ):
        await collector.read(http)
        prometheus.server.stop()
        await collector.read(http)
        down = sight.health()
        exporter = prometheus.exporter_url.removeprefix("http://")
        prometheus.server = start_prometheus(tmp_path / "again", [exporter], port=prometheus.server.port)
        await eventually(lambda: _reads(collector, http, sight), timeout=60, interval=0.5, what="Prometheus back")

    assert down.state == "Unreachable"
    assert down.error is not None
    assert "ConnectError" in down.error
    assert reasons(seen) == ["SourceHealthy", "SourceUnreachable", "SourceHealthy"]
    unreachable = next(
        b for b in seen.bodies() if b["type"] == "healer.condition.v1" and b["data"]["reason"] == "SourceUnreachable"
    )
    assert unreachable["data"]["resource"] == {
        "kind": "Source",
        "namespace": None,
        "name": "prometheus",
        "container": None,
    }


async def _reads(collector: PrometheusSource, http: httpx.AsyncClient, sight: SourceSight) -> bool:
    await collector.read(http)
    return sight.health().state == "Healthy"
