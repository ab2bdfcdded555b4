"""The pipeline benchmark: how fast events go through the detector, how long from publish to alert, and how
much memory each service holds. Prints one figure per line, `name value unit`.

    python bench/pipeline.py [--metrics 20000] [--conditions 2000] [--latency-events 500] [--rate 100]

It starts its own nats-server and redis-server on free loopback ports and the six services as processes,
like `make run`, and stops everything when done.

1. Throughput: with the detector stopped, fill the event stream with metric events (`healer.metric.v1`) and
   condition events (`healer.condition.v1`, one OOMKilled per pod, so each raises an alert); start the
   detector and time until its durable consumer has acked everything.
2. Latency: with all six services running, publish OOMKilled conditions for fresh pods at a steady rate and
   time each until its alert reaches a plain subscriber of `healer.alerts.*`.
3. RSS of every service process after both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import SERVICES, Settings
from healer_common.testing import ServiceRunner, eventually, isolated_settings, partitions_drained

CHUNK = 500


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def condition(pod: str, reason: str = "OOMKilled") -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "bench",
            "type": "healer.condition.v1",
            "data": {"resource": {"kind": "Pod", "namespace": "bench", "name": pod}, "reason": reason},
        }
    ).encode()


def metric(i: int) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "bench",
            "type": "healer.metric.v1",
            "data": {"name": "container_memory_working_set_bytes", "value": float(i), "labels": {"pod": f"p{i % 500}"}},
        }
    ).encode()


async def publish_all(bus: BusClient, bodies: list[bytes]) -> None:
    subject = bus.space.custom_events("bench")
    for start in range(0, len(bodies), CHUNK):
        chunk = bodies[start : start + CHUNK]
        await asyncio.gather(*(bus.js.publish(subject, body) for body in chunk))


async def throughput(runner: ServiceRunner, bus: BusClient, metrics: int, conditions: int) -> None:
    bodies = [metric(i) for i in range(metrics)] + [condition(f"tp-{i}") for i in range(conditions)]
    await publish_all(bus, bodies)
    runner.start("detector")
    await runner.wait_running("detector", timeout=60)
    started = time.perf_counter()
    await eventually(lambda: partitions_drained(bus), timeout=600, interval=0.05, what="drain")
    elapsed = time.perf_counter() - started
    figure("detector_events_per_second", len(bodies) / elapsed, "events/s")
    figure("detector_metric_events", metrics, "events")
    figure("detector_condition_events", conditions, "events")


async def latency(runner: ServiceRunner, bus: BusClient, count: int, rate: float) -> None:
    runner.start(*(s for s in SERVICES if s != "detector"))
    await runner.wait_running(timeout=60)
    sent: dict[str, float] = {}
    took: list[float] = []
    done = asyncio.Event()

    async def on_alert(msg: Any) -> None:
        pod = json.loads(msg.data).get("labels", {}).get("pod", "")
        if pod in sent and json.loads(msg.data)["status"] == "firing":
            took.append(time.perf_counter() - sent.pop(pod))
            if len(took) == count:
                done.set()

    sub = await bus.nc.subscribe(bus.space.all_alerts, cb=on_alert)
    subject = bus.space.custom_events("bench")
    try:
        for i in range(count):
            pod = f"lat-{i}"
            sent[pod] = time.perf_counter()
            await bus.js.publish(subject, condition(pod))
            await asyncio.sleep(1 / rate)
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await sub.unsubscribe()
    took_ms = sorted(t * 1000 for t in took)
    figure("publish_to_alert_latency_p50", statistics.median(took_ms), "ms")
    figure("publish_to_alert_latency_p99", took_ms[max(0, int(len(took_ms) * 0.99) - 1)], "ms")
    figure("publish_to_alert_samples", len(took_ms), "alerts")


def memory(runner: ServiceRunner) -> None:
    for name in SERVICES:
        rss = psutil.Process(runner.running[name].process.pid).memory_info().rss
        figure(f"rss_{name.replace('-', '_')}", rss / 2**20, "MiB")


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-bench-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        settings: Settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
        runner = ServiceRunner(settings, workdir)
        try:
            async with BusClient(settings, name="healer-bench") as bus:
                await bus.ensure_streams()
                await throughput(runner, bus, args.metrics, args.conditions)
                await latency(runner, bus, args.latency_events, args.rate)
                memory(runner)
        finally:
            runner.stop_all()
            redis.stop()
            nats.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", type=int, default=20_000, help="metric events for the throughput run")
    parser.add_argument("--conditions", type=int, default=2_000, help="condition events for the throughput run")
    parser.add_argument("--latency-events", type=int, default=500, help="conditions timed from publish to alert")
    parser.add_argument("--rate", type=float, default=100.0, help="conditions per second in the latency run")
    sys.exit(asyncio.run(main(parser.parse_args())))
