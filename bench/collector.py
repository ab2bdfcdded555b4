"""The collector benchmark: how fast the collector turns a cluster of 2,000 pods into events, and how much
memory it holds doing so. Prints one figure per line, `name value unit`.

    python bench/collector.py [--pods 2000] [--nodes 20] [--churn 1000] [--sandbox]

It starts its own nats-server and redis-server on free loopback ports, the kmock Kubernetes emulator seeded
with the pods (in Deployments, through ReplicaSets, with PVCs, Services and Endpoints on nodes), and the
collector as a process, like `make run` does against the sandbox.

1. Initial sync: from the collector's start until every pod has been reported (one condition each, plus
   the nodes, Services and resync metrics): events per second and seconds.
2. Resume: the API server stops, `--churn` pods start crash-looping meanwhile, the server comes back and
   replays every pod; events per second until every change has been reported, and how many unchanged pods
   were reported again (0: no flood). Live patches are not used: the emulator takes about a dozen a
   second with 2,000 pods stored, which would measure the emulator, not the collector.
3. The collector's RSS after each, and its CPU over 20 s of a quiet cluster.

With `--sandbox` the cluster is the sandbox (`healer_sandbox`, all its scenarios playing, `--pods` extra
pods) and the collector reads its Kubernetes, Prometheus and Loki APIs, as under `make run`: the initial
sync, then RSS and CPU over 20 s of play (no outage: bench/sandbox.py and the outage test cover it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil

from healer_common.logging import configure_logging
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import Settings
from healer_common.settings.collector import KubernetesSourceSettings
from healer_common.testing import KubeEmulator, ServiceRunner, event_kind, eventually, isolated_settings
from healer_sandbox.sandbox import Sandbox, SandboxConfig
from services.collector.sources import samples


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def seed(kube: KubeEmulator, pods: int, nodes: int) -> None:
    """`pods` pods in Deployments of 20, each Deployment with its ReplicaSet, Service, Endpoints and a PVC."""
    for n in range(nodes):
        kube.put("", "v1", "nodes", None, samples.node(f"node-{n}"))
    for d in range((pods + 19) // 20):
        name = f"app-{d}"
        kube.put("apps", "v1", "deployments", "bench", samples.deployment(name, "bench"))
        kube.put("apps", "v1", "replicasets", "bench", samples.replicaset(f"{name}-7d9", name, "bench"))
        kube.put("", "v1", "services", "bench", samples.service(name, "bench", selector={"app": name}))
        kube.put("", "v1", "endpoints", "bench", samples.endpoints(name, "bench", ready=3))
        kube.put("", "v1", "persistentvolumeclaims", "bench", samples.pvc(f"data-{name}", "bench"))
    for i in range(pods):
        app = f"app-{i // 20}"
        pod = samples.pod(
            f"{app}-7d9-{i}",
            "bench",
            containers=[samples.running("app", restarts=0), samples.running("sidecar")],
            labels={"app": app, "app.kubernetes.io/instance": app},
            node=f"node-{i % nodes}",
            owner=("ReplicaSet", f"{app}-7d9"),
            claims=(f"data-{app}",),
        )
        kube.put("", "v1", "pods", "bench", pod)


class Tally:
    """Counts what the collector publishes, by kind and by condition reason."""

    def __init__(self) -> None:
        self.total = 0
        self.reasons: dict[str, int] = {}

    async def on_message(self, msg: Any) -> None:
        self.total += 1
        if event_kind(msg.subject) == "condition":
            reason = json.loads(msg.data)["data"]["reason"]
            self.reasons[reason] = self.reasons.get(reason, 0) + 1


async def idle_cpu(runner: ServiceRunner, seconds: float = 20.0) -> None:
    """CPU the collector spends watching a quiet cluster: resyncs (every 10 s) and bookkeeping."""
    process = psutil.Process(runner.running["collector"].process.pid)
    before = process.cpu_times()
    started = time.perf_counter()
    await asyncio.sleep(seconds)  # the measurement window itself, not a wait for something
    after = process.cpu_times()
    busy = (after.user + after.system) - (before.user + before.system)
    figure("collector_idle_cpu_percent", 100 * busy / (time.perf_counter() - started), "%")


def rss_mb(runner: ServiceRunner) -> float:
    return float(psutil.Process(runner.running["collector"].process.pid).memory_info().rss) / 2**20


async def initial_sync(runner: ServiceRunner, tally: Tally, pods: int) -> None:
    started = time.perf_counter()
    runner.start("collector")
    await eventually(lambda: tally.reasons.get("Ready", 0) >= pods, timeout=600, interval=0.05, what="all pods")
    elapsed = time.perf_counter() - started
    figure("collector_initial_sync_seconds", elapsed, "s")
    figure("collector_initial_events_per_second", tally.total / elapsed, "events/s")
    figure("collector_initial_events", tally.total, "events")
    figure("collector_rss_after_sync", rss_mb(runner), "MiB")


async def resume(runner: ServiceRunner, kube: KubeEmulator, tally: Tally, changes: int) -> None:
    """The API server goes away; meanwhile `changes` pods start crash-looping; it comes back, the watches
    resume and replay all pods: the changed ones must be reported, the others not again."""
    kube.stop_server()
    await eventually(lambda: tally.reasons.get("SourceUnreachable", 0) >= 1, timeout=120, what="the outage seen")
    for i in range(changes):
        crashed = samples.pod(
            f"app-{i // 20}-7d9-{i}",
            "bench",
            containers=[samples.waiting("app", "CrashLoopBackOff", restarts=3), samples.running("sidecar")],
            node=f"node-{i % 20}",
            owner=("ReplicaSet", f"app-{i // 20}-7d9"),
        )
        kube.put("", "v1", "pods", "bench", crashed)
    before, ready_before = tally.total, tally.reasons.get("Ready", 0)
    started = time.perf_counter()
    kube.start_server()
    await eventually(
        lambda: tally.reasons.get("CrashLoopBackOff", 0) >= changes, timeout=600, interval=0.05, what="every change"
    )
    elapsed = time.perf_counter() - started
    figure("collector_resume_events_per_second", (tally.total - before) / elapsed, "events/s")
    figure("collector_resume_seconds", elapsed, "s")
    figure("collector_resume_repeated_ready", tally.reasons.get("Ready", 0) - ready_before, "events")
    figure("collector_rss_after_resume", rss_mb(runner), "MiB")


@contextlib.asynccontextmanager
async def collecting(settings: Settings, workdir: Path) -> AsyncIterator[tuple[ServiceRunner, Tally]]:
    """A collector to start (by `initial_sync`) and a tally of everything it publishes, both ended with the block."""
    runner, tally = ServiceRunner(settings, workdir), Tally()
    async with BusClient(settings, name="bench-collector") as bus:
        await bus.ensure_streams()
        sub = await bus.nc.subscribe(bus.space.all_events, cb=tally.on_message)
        try:
            yield runner, tally
        finally:
            await sub.unsubscribe()
            runner.stop_all()


async def main(pods: int, nodes: int, changes: int) -> None:
    with tempfile.TemporaryDirectory(prefix="healer-bench-collector-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        kube = KubeEmulator().start()
        try:
            seed(kube, pods, nodes)
            settings = isolated_settings(
                nats.url,
                f"{redis.url}/0",
                workdir,
                cluster={"name": "bench", "kubeconfig": kube.write_kubeconfig(workdir / "kubeconfig")},
                collector={"kubernetes": KubernetesSourceSettings(resync_s=10.0)},
                log={"format": "json", "level": "WARNING"},
            )
            async with collecting(settings, workdir) as (runner, tally):
                figure("pods", pods, "pods")
                await initial_sync(runner, tally, pods)
                await resume(runner, kube, tally, changes)
                await idle_cpu(runner)
        finally:
            kube.stop()
            redis.stop()
            nats.stop()


async def on_sandbox(pods: int) -> None:
    configure_logging("WARNING", "console", service="bench")  # the sandbox narrates its plays at info
    with tempfile.TemporaryDirectory(prefix="healer-bench-collector-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        box = SandboxConfig(workdir=workdir / "sandbox", pods=pods)
        try:
            async with Sandbox(box) as sandbox:
                settings = isolated_settings(
                    nats.url,
                    f"{redis.url}/0",
                    workdir,
                    cluster={"name": "sandbox", "kubeconfig": box.kubeconfig},
                    collector={"prometheus_url": sandbox.prometheus.url, "loki_url": sandbox.loki.url},
                    log={"format": "json", "level": "WARNING"},
                )
                async with collecting(settings, workdir) as (runner, tally):
                    figure("sandbox_pods", pods, "pods")
                    await initial_sync(runner, tally, pods)
                    await idle_cpu(runner)
                    figure("collector_rss_after_play", rss_mb(runner), "MiB")
        finally:
            redis.stop()
            nats.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--nodes", type=int, default=20)
    parser.add_argument("--churn", type=int, default=1000, help="pods that change while the API server is down")
    parser.add_argument("--sandbox", action="store_true", help="read the sandbox cluster instead of the emulator")
    args = parser.parse_args()
    asyncio.run(on_sandbox(args.pods) if args.sandbox else main(args.pods, args.nodes, args.churn))
    sys.exit(0)
