"""One cluster as the collector reads it: its sources, what they can see, the topology they share, and the
outbox they publish through, every event naming the cluster.

Which sources run follows from config: kubernetes (and argocd) when the cluster's API is configured,
prometheus and loki when their URL is (the cluster's own, else the collector's), probes and github
(`github.repositories`: pull requests are not a cluster's, their events name the first) on the first
cluster. Each source runs as a task that is restarted with backoff if it ever fails unexpectedly; what it
cannot reach it reports through its sight (sight.py), never by dying. Composed by app.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from healer_common.clock import Clock
from healer_common.contract.health import ClusterHealth
from healer_common.contract.subjects import SubjectSpace
from healer_common.logging import get_logger
from healer_common.runtime.kube import api_client
from healer_common.settings import CollectedCluster, CollectorSettings, GitHubSettings
from services.collector.backoff import Backoff
from services.collector.outbox import Outbox, Publish
from services.collector.sight import SourceSight, cluster_health
from services.collector.sources.github import GitHubSource
from services.collector.sources.http_reads import Polling
from services.collector.sources.kubernetes import KubernetesSource, build_trackers, source_of
from services.collector.sources.loki import LokiSource
from services.collector.sources.probes import ProbesSource
from services.collector.sources.prometheus import PrometheusSource
from services.collector.topology import Topology

Runner = Callable[[], Awaitable[None]]


class ClusterReader:
    def __init__(
        self,
        cluster: CollectedCluster,
        settings: CollectorSettings,
        publish: Publish,
        space: SubjectSpace,
        clock: Clock,
        *,
        with_probes: bool = False,
        github: GitHubSettings | None = None,
        partitions: int,
    ) -> None:
        self.name = cluster.name
        self._settings = settings
        self._clock = clock
        self.topology = Topology()
        self.outbox = Outbox(publish, space, cluster.name, clock, partitions=partitions)
        self.sights: dict[str, SourceSight] = {}
        self.runners: dict[str, Runner] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._health: ClusterHealth | None = None
        self._log = get_logger().bind(cluster=cluster.name)
        self._add_kubernetes(cluster)
        self._add_http_sources(cluster)
        if with_probes and settings.probes.targets:
            self.runners["probes"] = ProbesSource(settings.probes, settings.retry, self.outbox, clock).run
        self.github: GitHubSource | None = None
        if github is not None and github.repositories:
            sight = self._sight("github", settings.retry.attempts)
            self.github = GitHubSource(github, settings.retry, sight, self.outbox, clock)
            self.runners["github"] = self.github.run

    def _sight(self, source: str, unreachable_after: int) -> SourceSight:
        sight = self.sights[source] = SourceSight(source, self._clock.now(), unreachable_after=unreachable_after)
        return sight

    def _add_kubernetes(self, cluster: CollectedCluster) -> None:
        trackers = build_trackers(self._settings.kubernetes, self._settings.argocd.enabled, self.topology)
        api = api_client(cluster, connections=len(trackers) + 4, retries=0) if trackers else None  # we retry
        if api is None:
            return
        for source in sorted({source_of(resource) for resource in trackers}):
            self._sight(source, self._settings.retry.attempts)
        self.runners["kubernetes"] = KubernetesSource(
            api,
            trackers=trackers,
            sights=self.sights,
            outbox=self.outbox,
            clock=self._clock,
            settings=self._settings.kubernetes,
            retry=self._settings.retry,
        ).run

    def _add_http_sources(self, cluster: CollectedCluster) -> None:
        """Prometheus and Loki: their reads already retried, one failed read makes them Unreachable."""
        settings = self._settings

        def polling(source: str, url: str) -> Polling:
            sight = self._sight(source, 1)
            return Polling(
                url, settings.retry, sight, self.outbox, self.topology.enrich, self._clock, self.topology.names_gone_pod
            )

        if url := cluster.prometheus_url or settings.prometheus_url:
            self.runners["prometheus"] = PrometheusSource(polling("prometheus", url), settings.prometheus).run
        if url := cluster.loki_url or settings.loki_url:
            self.runners["loki"] = LokiSource(polling("loki", url), settings.loki).run

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._supervise(name, run)) for name, run in self.runners.items()]
        self._log.info("collecting", sources=sorted(self.runners))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _supervise(self, name: str, run: Runner) -> None:
        backoff = Backoff(self._settings.retry)
        while True:
            try:
                await run()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a source's bug must not end the collector: logged, source restarted
                delay = backoff.next()
                self._log.exception("source_failed", source=name, restart_in_s=delay)
                await asyncio.sleep(delay)

    def health(self) -> ClusterHealth | None:
        """Healthy, Degraded(reason) or Unreachable(since); None when nothing of this cluster is read."""
        if not self.sights:
            return None
        self._health = cluster_health(self.name, list(self.sights.values()), self._health, self._clock.now())
        return self._health
