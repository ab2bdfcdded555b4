"""Composes the collector: settings -> HTTP ingest, and per cluster its sources (cluster.py) -> the bus.

Each cluster's health goes where `healer status --all` reads it (Redis, next to the heartbeat, with the same
short TTL) and into the heartbeat's detail.
"""

from __future__ import annotations

from healer_common.runtime import metrics
from healer_common.runtime.bus import Service, run_service
from healer_common.runtime.heartbeat import write_cluster_health
from services.collector.adapters.cluster import ClusterReader
from services.collector.handlers import Ingest


def setup(svc: Service) -> None:
    settings = svc.settings.collector
    readers = [
        ClusterReader(
            cluster,
            settings,
            svc.publish_raw,
            svc.space,
            svc.clock,
            with_probes=index == 0,
            github=svc.settings.github if index == 0 else None,
        )
        for index, cluster in enumerate(settings.clusters_or(svc.settings.cluster))
    ]
    Ingest(svc, readers[0].github if readers else None).install()
    svc.detail["ingest"] = "POST /events/{source}, POST /alertmanager, POST /github/webhook"
    interval = svc.settings.bus.heartbeat_interval_s

    async def start() -> None:
        for reader in readers:
            reader.start()

    async def stop() -> None:
        for reader in readers:
            await reader.stop()

    async def report_health() -> None:
        for reader in readers:
            if (health := reader.health()) is not None:
                svc.detail[f"cluster {reader.name}"] = str(health)
                for source in health.sources:
                    metrics.SOURCE_UP.labels(health.cluster, source.source).set(source.state == "Healthy")
                await write_cluster_health(svc.redis, svc.keys, health, ttl_s=interval * 3)

    svc.on_start(start)
    svc.on_stop(stop)
    svc.every(interval)(report_health)


def main() -> None:
    run_service("collector", setup)
