"""The detector benchmark: metric samples per second through one detector process, the time it adds between
an event and its alert, and its memory with 100,000 active series. One figure per line, `name value unit`.

    python bench/detector.py [--series 100000] [--batch 1000] [--batches 400] [--latency-events 300]

It starts its own nats-server and redis-server on free loopback ports and the detector as a process (as
`make run` does), and stops everything when done.

1. Throughput: start the detector and let it learn `--series` distinct series of the metrics the rules read
   (one pass of `healer.metrics.v1` batches; values below every threshold, as in a healthy cluster); stop
   it, fill the event stream with `--batches` more batches over the same series, start it again and time
   from its first delivery until its durable consumer has acked all: the steady state of a cluster whose
   series are known, which is what a detector spends its life in.
2. RSS of the detector process, holding state for every series.
3. Latency: publish conditions (OOMKilled on fresh pods) and threshold crossings (a certificate a day from
   expiry, which fires at once) one at a time, and time each until its alert reaches a plain subscriber of
   `healer.alerts.*`; once on an idle detector, once while metric batches stream in at `--load` samples/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from healer_common.contract.streams import DETECTOR_EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, consumer_drained, eventually, isolated_settings

METRICS = (
    ("container_memory_usage_ratio", 0.42),
    ("pvc_usage_ratio", 0.31),
    ("queue_depth", 12.0),
    ("node_cpu_usage_ratio", 0.27),
    ("db_connection_pool_usage_ratio", 0.2),
)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def cloudevent(kind: str, data: dict[str, Any]) -> bytes:
    body = {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "bench", "type": kind, "data": data}
    return json.dumps(body).encode()


def metric_batch(start: int, size: int, series: int) -> bytes:
    samples = []
    for i in range(start, start + size):
        number = i % series
        name, value = METRICS[number % len(METRICS)]
        labels = {"namespace": f"ns-{number % 40}", "pod": f"pod-{number}", "container": "app", "node": "n1"}
        samples.append({"name": name, "value": value, "labels": labels})
    return cloudevent("healer.metrics.v1", {"samples": samples})


async def publish(bus: BusClient, bodies: list[bytes]) -> None:
    subject = bus.space.events("bench", "metrics")
    for body in bodies:
        await bus.js.publish(subject, body)


async def learn_series(runner: ServiceRunner, bus: BusClient, args: argparse.Namespace) -> None:
    runner.start("detector")
    await runner.wait_running("detector", timeout=60)
    for start in range(0, args.series, args.batch):
        await publish(bus, [metric_batch(start, args.batch, args.series)])
    await eventually(lambda: consumer_drained(bus, DETECTOR_EVENTS), timeout=300, what="series learnt")


async def throughput(runner: ServiceRunner, bus: BusClient, args: argparse.Namespace) -> None:
    bodies = [metric_batch(k * args.batch, args.batch, args.series) for k in range(args.batches)]
    runner.running["detector"].process.send_signal(signal.SIGSTOP)  # paused, not stopped: its series stay
    await publish(bus, bodies)
    stream = DETECTOR_EVENTS.stream.name(bus.space)
    runner.running["detector"].process.send_signal(signal.SIGCONT)
    first = None
    while True:
        try:
            info = await bus.js.consumer_info(stream, DETECTOR_EVENTS.durable)
        except Exception:  # noqa: BLE001 - the consumer appears when the detector starts
            info = None
        if first is None and info is not None and (info.delivered.stream_seq or 0) > 0:
            first = time.perf_counter()
        if info is not None and info.num_pending == 0 and info.num_ack_pending == 0 and first is not None:
            break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - first
    figure("detector_metric_samples_per_second", args.batches * args.batch / elapsed, "samples/s")
    figure("detector_metric_batches", args.batches, f"messages of {args.batch} samples")


async def latency(bus: BusClient, count: int, label: str) -> None:
    sent: dict[str, float] = {}
    took: list[float] = []
    done = asyncio.Event()

    async def on_alert(msg: Any) -> None:
        body = json.loads(msg.data)
        key = body["labels"].get("pod") or body["labels"].get("certificate", "")
        if key in sent and body["status"] == "firing":
            took.append(time.perf_counter() - sent.pop(key))
            if len(took) == count:
                done.set()

    sub = await bus.nc.subscribe(bus.space.all_alerts, cb=on_alert)
    try:
        for i in range(count):
            key = f"{label}-{i}"
            if i % 2:
                data = {"resource": {"kind": "Pod", "namespace": "bench", "name": key}, "reason": "OOMKilled"}
                body, subject = cloudevent("healer.condition.v1", data), bus.space.events("bench", "condition")
            else:
                sample = {"name": "certificate_expiry_seconds", "value": 86_400.0, "labels": {"certificate": key}}
                body, subject = cloudevent("healer.metrics.v1", {"samples": [sample]}), bus.space.events("bench", "m")
            sent[key] = time.perf_counter()
            await bus.js.publish(subject, body)
            await asyncio.sleep(0.02)
        await asyncio.wait_for(done.wait(), timeout=120)
    finally:
        await sub.unsubscribe()
    took_ms = sorted(t * 1000 for t in took)
    figure(f"event_to_alert_{label}_p50", took_ms[len(took_ms) // 2], "ms")
    figure(f"event_to_alert_{label}_p99", took_ms[max(0, int(len(took_ms) * 0.99) - 1)], "ms")


async def under_load(bus: BusClient, args: argparse.Namespace) -> None:
    """Latency while batches stream in at `--load` samples per second."""
    stop = asyncio.Event()

    async def stream() -> None:
        k = 0
        interval = args.batch / args.load
        while not stop.is_set():
            await publish(bus, [metric_batch(k * args.batch, args.batch, args.series)])
            k += 1
            await asyncio.sleep(interval)

    feeder = asyncio.create_task(stream())
    try:
        await latency(bus, args.latency_events, "loaded")
    finally:
        stop.set()
        await feeder


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-bench-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        settings: Settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"})
        runner = ServiceRunner(settings, workdir)
        try:
            async with BusClient(settings, name="healer-bench") as bus:
                await bus.ensure_streams()
                await learn_series(runner, bus, args)
                await throughput(runner, bus, args)
                rss = psutil.Process(runner.running["detector"].process.pid).memory_info().rss
                figure("detector_rss_with_series", rss / 2**20, f"MiB ({args.series} series)")
                await latency(bus, args.latency_events, "idle")
                await under_load(bus, args)
                await eventually(lambda: consumer_drained(bus, DETECTOR_EVENTS), timeout=120, what="drain")
        finally:
            runner.stop_all()
            redis.stop()
            nats.stop()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000, help="distinct series in the throughput run")
    parser.add_argument("--batch", type=int, default=1_000, help="samples per healer.metrics.v1 message")
    parser.add_argument("--batches", type=int, default=400, help="messages in the throughput run")
    parser.add_argument("--latency-events", type=int, default=300, help="events timed from publish to alert")
    parser.add_argument("--load", type=float, default=50_000.0, help="samples/s streamed during the loaded run")
    sys.exit(asyncio.run(main(parser.parse_args())))
