"""The chaos benchmark: Healer in its production shape on this machine (two replicas of every service on a
three-node NATS cluster, streams with three replicas) through one fault after another, counting what was
lost or doubled and timing how long each fault held the pipeline up. One figure per line, `name value unit`.

    python bench/chaos.py [--pods-per-fault 6] [--timeout 240]

It starts its own NATS cluster, redis-server, Kubernetes emulator and webhook receiver on free loopback ports
and the services as processes, and stops everything when done. Every pod has its own namespace, so each OOM
kill is one alert (H8), one incident, one pod restart on the emulated cluster and one `incident_opened`
notification. The faults, in turn (each one undone before the next):

    nats_node_kill           SIGKILL of a NATS node (started again on its store after the probe is told)
    detector_replica_kill    SIGKILL of the detector replica serving the most partitions (started again)
    remediator_replica_kill  SIGKILL of a remediator replica while restarts are under way (started again)
    notifier_replica_stall   SIGSTOP of a notifier replica for three lease TTLs, then SIGCONT: it must not
                             deliver what its successor delivered
    collector_leader_stall   SIGSTOP of the replica leading the cluster's watches for three lease TTLs

Before each fault `--pods-per-fault` pods are OOM-killed; at the fault one more (the probe) and, right after,
`--pods-per-fault` more. The recovery time of a fault is from the fault to the probe's notification (its
end-to-end time on the healthy system is printed first, as `chaos_baseline_*`). At the end, once every
consumer is drained:

    chaos_lost_alerts            pods OOM-killed without a firing alert in the alert stream
    chaos_duplicate_alerts       firing alerts beyond one per pod in the alert stream
    chaos_lost_notifications     pods without an `incident_opened` delivered to the webhook
    chaos_duplicate_notifications deliveries beyond one per notification id
    chaos_pods_restarted         pods deleted (restarted) on the emulated cluster, one per OOM kill expected
    chaos_double_remediations    pod deletions beyond one per pod on the emulated cluster
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import kmock

from healer_cli.demo import condition_event
from healer_common.contract.streams import ALERTS, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.jetstream import NATS_DOWN
from healer_common.runtime.servers import NatsCluster, start_redis
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES
from healer_common.testing import (
    HttpPeer,
    KubeEmulator,
    ServiceRunner,
    consumer_drained,
    eventually,
    isolated_settings,
    partitions_drained,
    pod,
)

LEASE_TTL_S = 3.0
Undo = Callable[[], Awaitable[None]]
Inject = Callable[[], Awaitable[Undo]]  # applies a fault, returns how to undo it


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


class Chaos:
    def __init__(
        self, runner: ServiceRunner, bus: BusClient, cluster: NatsCluster, kube: KubeEmulator, peer: HttpPeer
    ) -> None:
        self.runner, self.bus, self.cluster, self.kube, self.peer = runner, bus, cluster, kube, peer
        self.pods = 0

    def told(self) -> set[str]:
        return {
            json.loads(r.body)["namespace"] for r in self.peer.received("POST", "/hook") if b"incident_opened" in r.body
        }

    async def oom_kill(self) -> str:
        """OOM-kill a fresh pod (its own namespace); retried while a stream has no leader. Returns the namespace."""
        namespace = f"chaos-{self.pods}"
        self.pods += 1
        self.kube.put("", "v1", "pods", namespace, pod(namespace, "rex", {"app": "rex"}))
        event = condition_event(f"{namespace}/rex", "OOMKilled", source="chaos")
        deadline = time.monotonic() + 60
        while True:
            try:
                await self.bus.publish_event(self.bus.space.custom_events("chaos"), event)
            except NATS_DOWN:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
            else:
                return namespace

    async def probe(self, wait_s: float) -> float:
        """Seconds from now until a fresh OOM kill is told on the webhook."""
        started = time.monotonic()
        namespace = await self.oom_kill()
        await eventually(lambda: namespace in self.told(), timeout=wait_s, interval=0.1, what=f"{namespace} told")
        return time.monotonic() - started

    async def replica_of(self, service: str, role: str | None = None) -> str:
        """The replica of `service` leading a role named `role...` (by its heartbeat), or serving the most
        partitions."""
        redis = connect_redis(self.runner.settings)
        try:
            beats = await read_heartbeats(redis, KeySpace(self.runner.settings.redis.key_prefix))
        finally:
            await redis.aclose()
        score = {
            b.pid: any(k.startswith(f"leads {role}") for k in b.detail)
            if role
            else sum(k.startswith("partition ") for k in b.detail)
            for b in beats
            if b.service == service
        }
        replicas = [k for k, p in self.runner.running.items() if p.service == service]
        return max(replicas, key=lambda k: score.get(self.runner.running[k].process.pid, 0))

    async def fault(self, name: str, inject: Inject, args: argparse.Namespace) -> None:
        for _ in range(args.pods_per_fault):
            await self.oom_kill()
        undo = await inject()
        started = time.monotonic()
        probe = asyncio.create_task(self.probe(args.timeout))
        for _ in range(args.pods_per_fault):
            await self.oom_kill()
        await probe
        figure(f"chaos_recovery_{name}", time.monotonic() - started, "s (fault to the probe's notification)")
        await undo()


async def run(args: argparse.Namespace, workdir: Path) -> int:
    cluster = NatsCluster.start(workdir / "nats", 3)
    redis = start_redis(workdir / "redis")
    kube = KubeEmulator().start()
    kube.write_kubeconfig(workdir / "kubeconfig")
    try:
        async with kmock.RawHandler() as handler, kmock.Server(handler) as server:
            peer = HttpPeer(handler, str(server.url).rstrip("/"))
            peer.handler["post /hook"] << {"ok": True}
            settings = isolated_settings(
                cluster.url,
                f"{redis.url}/0",
                workdir,
                nats={"stream_replicas": 3},
                scale={"partitions": 8, "lease_ttl_s": LEASE_TTL_S},
                cluster={"kubeconfig": workdir / "kubeconfig"},
                notifier={"webhook_url": f"{peer.url}/hook"},
                # every OOM kill is restarted: no budget, no cap on runs awaiting their verification (the
                # emulated pods never report Ready again), no breaker
                remediator={"rate_limit": 10_000, "max_concurrent": 10_000, "breaker_min_runs": 10_000},
            )
            runner = ServiceRunner(settings, workdir)
            try:
                async with BusClient(settings, name="chaos") as bus:
                    await bus.ensure_streams()
                    runner.start(*SERVICES, replicas=2)
                    await runner.wait_running(timeout=300)
                    chaos = Chaos(runner, bus, cluster, kube, peer)
                    return await faults(chaos, args)
            finally:
                runner.stop_all()
    finally:
        kube.stop()
        redis.stop()
        cluster.stop()


async def faults(chaos: Chaos, args: argparse.Namespace) -> int:
    runner, cluster = chaos.runner, chaos.cluster
    figure("chaos_baseline_first", await chaos.probe(args.timeout), "s (an OOM kill to its notification, first)")
    figure("chaos_baseline", await chaos.probe(args.timeout), "s (an OOM kill to its notification, warm)")

    async def kill_node() -> Undo:
        cluster.kill_node(0)

        async def undo() -> None:
            await asyncio.to_thread(cluster.start_node, 0)

        return undo

    def kill_replica(service: str) -> Inject:
        async def inject() -> Undo:
            victim = await chaos.replica_of(service) if service == "detector" else f"{service}#1"
            runner.stop(victim, sig=signal.SIGKILL)

            async def undo() -> None:
                runner.start(victim)
                await runner.wait_running(victim, timeout=120)

            return undo

        return inject

    def stall(service: str, role: str | None) -> Inject:
        async def inject() -> Undo:
            victim = await chaos.replica_of(service, role) if role else service
            runner.pause(victim)
            resume_at = time.monotonic() + 3 * LEASE_TTL_S

            async def undo() -> None:
                await asyncio.sleep(max(0.0, resume_at - time.monotonic()))
                runner.resume(victim)

            return undo

        return inject

    await chaos.fault("nats_node_kill", kill_node, args)
    await chaos.fault("detector_replica_kill", kill_replica("detector"), args)
    await chaos.fault("remediator_replica_kill", kill_replica("remediator"), args)
    await chaos.fault("notifier_replica_stall", stall("notifier", None), args)
    await chaos.fault("collector_leader_stall", stall("collector", "collector/cluster/"), args)
    return await tally(chaos, args)


async def tally(chaos: Chaos, args: argparse.Namespace) -> int:
    bus, expected = chaos.bus, {f"chaos-{i}" for i in range(chaos.pods)}
    await eventually(lambda: chaos.told() >= expected, timeout=args.timeout, interval=0.5, what="every incident told")
    for spec in (CORRELATOR_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS):
        await eventually(functools.partial(consumer_drained, bus, spec), timeout=args.timeout, what=spec.durable)
    await eventually(lambda: partitions_drained(bus), timeout=args.timeout, what="the detector drained")
    await asyncio.sleep(2 * LEASE_TTL_S)  # a stalled replica's late work, if it did any, has landed

    firing: Counter[str] = Counter()
    async for msg in bus.history(ALERTS, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)):
        alert = json.loads(msg.data)
        if alert["status"] == "firing":
            firing[alert["namespace"]] += 1
    deliveries = Counter(json.loads(r.body)["notification_id"] for r in chaos.peer.received("POST", "/hook"))
    deletes = Counter(path for method, path in chaos.kube.mutating_requests() if method == "DELETE")
    figure("chaos_pods_oom_killed", len(expected), "pods")
    figure("chaos_lost_alerts", len(expected - set(firing)), "alerts")
    figure("chaos_duplicate_alerts", sum(n - 1 for n in firing.values()), "alerts")
    figure("chaos_lost_notifications", len(expected - chaos.told()), "incidents")
    figure("chaos_duplicate_notifications", sum(n - 1 for n in deliveries.values()), "deliveries")
    figure("chaos_pods_restarted", len(deletes), "pods")
    figure("chaos_double_remediations", sum(n - 1 for n in deletes.values()), "deletions")
    bad = len(expected - set(firing)) + sum(n - 1 for n in deliveries.values()) + sum(n - 1 for n in deletes.values())
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods-per-fault", type=int, default=6, help="pods OOM-killed before and after each fault")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for any one step")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="healer-chaos-") as folder:
        return asyncio.run(run(args, Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
