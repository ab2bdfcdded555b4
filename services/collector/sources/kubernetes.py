"""The kubernetes and argocd sources of one cluster: watches in threads, trackers in the event loop.

Each watched kind runs a `ResourceWatch` (kube_watch.py) in a thread of its own; what they see comes to one
queue, and this loop hands each object to its kind's tracker (pods.py, nodes.py, ...), publishes what the
tracker emits, and every `resync_s` asks every tracker what time alone has changed. A relist removes what
the list no longer shows. Contacts move the sight of the source the kind belongs to: ArgoCD Applications are
the argocd source, the rest the kubernetes source. Run by cluster.py; stopped by cancelling `run()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from kubernetes import client

from healer_common.clock import Clock
from healer_common.settings.collector import KubernetesSourceSettings, RetrySettings
from services.collector.observations import Emission, Observation, object_key
from services.collector.outbox import Outbox
from services.collector.sight import SourceSight
from services.collector.sources.argocd import ApplicationTracker
from services.collector.sources.certificates import ExpiryTracker
from services.collector.sources.coderuns import CodeRunTracker
from services.collector.sources.endpoints import ServiceEndpoints
from services.collector.sources.kube_events import EventTracker
from services.collector.sources.kube_watch import RESOURCES, Changed, Contact, Listed, ResourceWatch, WatchNews
from services.collector.sources.nodes import NodeTracker
from services.collector.sources.pods import PodRules, PodTracker
from services.collector.sources.tracker import Tracker
from services.collector.sources.workloads import DeploymentTracker, TopologyFeed
from services.collector.topology import Topology

ARGOCD_RESOURCES = frozenset({"applications"})
LINKS_FIRST = frozenset({"replicasets", "persistentvolumeclaims"})
"""Kinds the topology links pods through: listed before the rest, so the first word about a pod already
names its Deployment (up to LINKS_WAIT_S, so an unreachable server does not hold the rest back)."""
LINKS_WAIT_S = 10.0
STOP_WAIT_S = 5.0  # threads still waiting for an answer after this are left to die with the process
DRAIN = 500  # news handled per wake-up before the loop yields to the rest of the collector


def source_of(resource: str) -> str:
    return "argocd" if resource in ARGOCD_RESOURCES else "kubernetes"


class KubernetesSource:
    def __init__(
        self,
        api: client.ApiClient,
        *,
        trackers: dict[str, Tracker],
        sights: dict[str, SourceSight],
        outbox: Outbox,
        clock: Clock,
        settings: KubernetesSourceSettings,
        retry: RetrySettings,
    ) -> None:
        self._api = api
        self._trackers = trackers
        self._sights = sights
        self._outbox = outbox
        self._clock = clock
        self._settings = settings
        self._retry = retry
        self.handled = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[WatchNews] = asyncio.Queue()

        def deliver(news: WatchNews) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed under a thread finishing its read
                loop.call_soon_threadsafe(queue.put_nowait, news)

        watches = [
            ResourceWatch(self._api, RESOURCES[name], self._settings, self._retry, deliver) for name in self._trackers
        ]
        links = [w for w in watches if w.resource.name in LINKS_FIRST]
        threads = [watch.start(loop) for watch in links]
        try:
            await self._until_listed({w.resource.name for w in links}, queue)
            threads += [watch.start(loop) for watch in watches if watch not in links]
            await self._consume(queue)
        finally:
            for watch in watches:
                watch.interrupt()
            if threads:
                await asyncio.wait(threads, timeout=STOP_WAIT_S)

    async def _until_listed(self, resources: set[str], queue: asyncio.Queue[WatchNews]) -> None:
        deadline = time.monotonic() + LINKS_WAIT_S
        waiting = set(resources)
        while waiting and (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):  # not wait_for: in 3.11 it can swallow a cancellation
                    news = await queue.get()
            except TimeoutError:
                return
            await self.handle(news)
            if isinstance(news, Listed):
                waiting.discard(news.resource)

    async def _consume(self, queue: asyncio.Queue[WatchNews]) -> None:
        next_resync = time.monotonic() + self._settings.resync_s
        while True:
            try:
                async with asyncio.timeout(max(0.0, next_resync - time.monotonic())):
                    news = await queue.get()
            except TimeoutError:
                await self.resync()
                next_resync = time.monotonic() + self._settings.resync_s
                continue
            await self.handle(news)
            for _ in range(min(DRAIN, queue.qsize())):
                await self.handle(queue.get_nowait())

    async def handle(self, news: WatchNews) -> None:
        self.handled += 1
        now = self._clock.now()
        source = source_of(news.resource)
        if isinstance(news, Contact):
            await self._outbox.emit(source, Emission(conditions=self._contact(source, news)))
            return
        tracker = self._trackers[news.resource]
        if isinstance(news, Listed):
            emission = Emission()
            listed = {object_key(item) for item in news.items}
            for key in set(tracker.keys()) - listed:
                emission.add(tracker.remove(key, now))
            for item in news.items:
                emission.add(tracker.observe(item, now))
        elif isinstance(news, Changed) and news.type == "DELETED":
            emission = tracker.remove(object_key(news.obj), now)
        else:
            emission = tracker.observe(news.obj, now)
        await self._outbox.emit(source, emission)

    def _contact(self, source: str, contact: Contact) -> list[Observation]:
        sight, now = self._sights[source], self._clock.now()
        if contact.outcome == "reached":
            return sight.reached(contact.resource, now)
        if contact.outcome == "degraded":
            return sight.degraded(contact.resource, contact.error or "refused", now)
        return sight.unreachable(contact.resource, contact.error or "unreachable", now)

    async def resync(self) -> None:
        """What time alone changes: timers of not-ready containers, certificates' remaining seconds."""
        now = self._clock.now()
        by_source: dict[str, Emission] = {}
        for resource, tracker in self._trackers.items():
            by_source.setdefault(source_of(resource), Emission()).add(tracker.resync(now))
        for source, emission in by_source.items():
            await self._outbox.emit(source, emission)


def build_trackers(settings: KubernetesSourceSettings, argocd: bool, topology: Topology) -> dict[str, Tracker]:
    """A tracker per watched kind, as configured; every kind that labels pods shares `topology`."""
    services = ServiceEndpoints()
    makers: dict[str, Callable[[], Tracker]] = {
        "pods": lambda: PodTracker(topology, PodRules.from_settings(settings)),
        "events": lambda: EventTracker(topology, settings.history_after_s),
        "nodes": NodeTracker,
        "persistentvolumeclaims": lambda: TopologyFeed(topology, "persistentvolumeclaims"),
        "services": services.services_side,
        "endpoints": services.endpoints_side,
        "secrets": ExpiryTracker.for_secrets,
        "deployments": DeploymentTracker,
        "replicasets": lambda: TopologyFeed(topology, "replicasets"),
        "certificates": ExpiryTracker.for_certificates,
        "coderuns": CodeRunTracker,
    }
    trackers = {name: makers[name]() for name in settings.resources} if settings.enabled else {}
    if argocd:
        trackers["applications"] = ApplicationTracker()
    return trackers
