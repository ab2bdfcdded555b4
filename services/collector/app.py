"""Composes the collector: settings -> HTTP ingest (every replica), and per cluster its sources (cluster.py),
read by one replica at a time -> the bus.

Each cluster is a role (`collector/cluster/<name>`, runtime/leadership.py): the replica that holds its lease
reads it, with a reader built afresh at each election (a reader remembers what it last said about each object,
and a new leader must not trust what another replica said), and publishes only while its term lasts, so a
replica that stalled and woke up says nothing. The others serve the ingest and stand by. Each cluster's health
goes where `healer status --all` reads it (Redis, next to the heartbeat, with the same short TTL) and into the
heartbeat's detail, from the replica that reads it.
"""

from __future__ import annotations

from healer_common.contract.subjects import subject_token
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service, run_service
from healer_common.runtime.heartbeat import write_cluster_health
from healer_common.runtime.leadership import Term, elect
from healer_common.settings import CollectedCluster
from services.collector.adapters.cluster import ClusterReader
from services.collector.handlers import Ingest
from services.collector.sources.github import GitHubSource


class ClusterWatch:
    """One cluster's reading, run by whichever replica leads it."""

    def __init__(self, svc: Service, cluster: CollectedCluster, *, first: bool) -> None:
        self._svc = svc
        self._cluster = cluster
        self._first = first  # the first cluster's reader also runs the probes and the github source
        self.reader: ClusterReader | None = None

    async def elected(self, term: Term) -> None:
        svc = self._svc

        async def publish(subject: str, body: bytes, headers: dict[str, str]) -> None:
            term.check()
            await svc.publish_raw(subject, body, headers)

        self.reader = ClusterReader(
            self._cluster,
            svc.settings.collector,
            publish,
            svc.space,
            svc.clock,
            with_probes=self._first,
            github=svc.settings.github if self._first else None,
            partitions=svc.settings.scale.partitions,
        )
        self.reader.start()

    async def deposed(self, term: Term) -> None:
        del term
        reader, self.reader = self.reader, None
        if reader is not None:
            await reader.stop()


def setup(svc: Service) -> None:
    settings = svc.settings.collector
    watches = []
    for index, cluster in enumerate(settings.clusters_or(svc.settings.cluster)):
        watch = ClusterWatch(svc, cluster, first=index == 0)
        elect(
            svc, f"collector/cluster/{subject_token(cluster.name)}", on_elected=watch.elected, on_deposed=watch.deposed
        )
        watches.append(watch)

    def github() -> GitHubSource | None:
        reader = watches[0].reader if watches else None
        return reader.github if reader is not None else None

    Ingest(svc, github).install()
    svc.detail["ingest"] = "POST /events/{source}, POST /alertmanager, POST /github/webhook"
    interval = svc.settings.bus.heartbeat_interval_s

    async def report_health() -> None:
        for reader in (w.reader for w in watches if w.reader is not None):
            if (health := reader.health()) is not None:
                svc.detail[f"cluster {reader.name}"] = str(health)
                for source in health.sources:
                    metrics.SOURCE_UP.labels(health.cluster, source.source).set(source.state == "Healthy")
                await write_cluster_health(svc.redis, svc.keys, health, ttl_s=interval * 3)

    svc.every(interval)(report_health)


def main() -> None:
    run_service("collector", setup)
