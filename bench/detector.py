"""The detector benchmark: metric samples per second through one detector process or several replicas sharing
the partitions, the time it adds between an event and its alert, and its memory with 100,000 active series.
One figure per line, `name value unit`.

    python bench/detector.py [--series 100000] [--batch 1000] [--batches 400] [--latency-events 300]
    python bench/detector.py --replicas 1 2 --skip-latency     # throughput of one replica, then of two

It starts its own nats-server and redis-server on free loopback ports and the detector as processes (as
`make run` does), and stops everything when done. It publishes as a collector does: each batch split by the
partition of the objects its samples are about (contract/partitions.py), on `healer.events.bench.metrics.<n>`.

1. Throughput, per replica count: start the replicas (they share the `scale.partitions` partitions out), let
   them learn `--series` distinct series of the metrics the rules read (values below every threshold, as in a
   healthy cluster); pause them (SIGSTOP), fill the event stream with `--batches` more batches over the same
   series (`--batch` samples a message once split, as a collector's scrape of every series is) and, last, one
   OOM kill per partition; resume them and time until every partition's OOM kill has raised its alert (each
   partition handles its events in order): the steady state of a cluster whose series are known, which is
   what a detector spends its life in. Also the CPU the replicas spent on it (samples per CPU-second, and
   how many cores they kept busy): on a shared machine the wall-clock rate follows the cores the replicas get.
   With several counts, the last line is the speed-up of the largest over the smallest.
2. RSS of the detector process(es), holding state for every series.
3. Latency (one replica): publish conditions (OOMKilled on fresh pods) and threshold crossings (a certificate
   a day from expiry, which fires at once) one at a time, and time each until its alert reaches a plain
   subscriber of `healer.alerts.*`; once on an idle detector, once while batches stream in at `--load` samples/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

from healer_common.contract.codec import encode
from healer_common.contract.events import EVENT_ADAPTER
from healer_common.contract.headers import event_headers
from healer_common.contract.partitions import object_key, partition_of, split
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, eventually, isolated_settings, partitions_drained

METRICS = (
    ("container_memory_usage_ratio", 0.42),
    ("pvc_usage_ratio", 0.31),
    ("queue_depth", 12.0),
    ("node_cpu_usage_ratio", 0.27),
    ("db_connection_pool_usage_ratio", 0.2),
)
Message = tuple[str, bytes, dict[str, str]]


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def cloudevent(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "bench", "type": kind, "data": data}


def placed(bus: BusClient, subject: str, body: dict[str, Any]) -> list[Message]:
    """The event as a collector publishes it: in the partitions of the objects it is about."""
    event = EVENT_ADAPTER.validate_python(body)
    parts = []
    for partition, part in split(event, bus.settings.scale.partitions):
        where = bus.space.in_partition(subject, partition)
        parts.append((where, encode(part), event_headers(bus.space, where, part)))
    return parts


def metric_batch(bus: BusClient, start: int, size: int, series: int) -> list[Message]:
    samples = []
    for i in range(start, start + size):
        number = i % series
        name, value = METRICS[number % len(METRICS)]
        labels = {"namespace": f"ns-{number % 40}", "pod": f"pod-{number}", "container": "app", "node": "n1"}
        samples.append({"name": name, "value": value, "labels": labels})
    return placed(bus, bus.space.events("bench", "metrics"), cloudevent("healer.metrics.v1", {"samples": samples}))


async def publish(bus: BusClient, messages: list[Message]) -> None:
    for subject, body, headers in messages:
        await bus.js.publish(subject, body, headers=headers)


async def parts_served(bus: BusClient) -> list[int]:
    """How many parts (partitions and the intake) each running detector replica serves, as its heartbeat says."""
    redis = connect_redis(bus.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(bus.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    detectors = [b for b in beats if b.service == "detector" and b.state == "running"]
    return sorted(sum(key.startswith("partition ") for key in b.detail) for b in detectors)


async def shared_out(bus: BusClient, replicas: int) -> bool:
    """Every replica serves its share: the one started first takes every part it finds free, and hands the
    others' shares over at its next steps (runtime/partitioned.py); measured before that, one replica does
    nearly all the work while the other idles."""
    served = await parts_served(bus)
    return len(served) == replicas and served[0] >= (bus.settings.scale.partitions + 1) // replicas


async def learn_series(runner: ServiceRunner, bus: BusClient, args: argparse.Namespace, replicas: int) -> list[str]:
    keys = runner.start("detector", replicas=replicas)
    await runner.wait_running(*keys, timeout=120)
    for start in range(0, args.series, args.batch):
        await publish(bus, metric_batch(bus, start, args.batch, args.series))
    await eventually(lambda: shared_out(bus, replicas), timeout=600, what="partitions shared out")
    await eventually(lambda: partitions_drained(bus), timeout=600, what="series learnt")
    print(f"# parts served by each replica: {await parts_served(bus)}", flush=True)
    return keys


def markers(bus: BusClient, label: str) -> dict[str, list[Message]]:
    """One OOM kill per partition, on a pod chosen to land there: once a partition's alert for it is out, the
    partition has handled everything published to it before (it handles its events in order)."""
    found: dict[int, str] = {}
    for i in range(10_000):
        pod = f"{label}-{i}"
        found.setdefault(partition_of(object_key("default", "Pod", "bench", pod), bus.settings.scale.partitions), pod)
        if len(found) == bus.settings.scale.partitions:
            break
    subject = bus.space.events("bench", "condition")
    return {
        pod: placed(
            bus,
            subject,
            cloudevent(
                "healer.condition.v1",
                {"resource": {"kind": "Pod", "namespace": "bench", "name": pod}, "reason": "OOMKilled"},
            ),
        )
        for pod in found.values()
    }


async def throughput(
    runner: ServiceRunner, bus: BusClient, args: argparse.Namespace, replicas: int, nats: psutil.Process
) -> float:
    keys = await learn_series(runner, bus, args, replicas)
    size = args.batch * bus.settings.scale.partitions  # about `batch` samples a message once split
    messages = [m for k in range(args.batches) for m in metric_batch(bus, k * size, size, args.series)]
    last = markers(bus, f"marker-{replicas}")
    for key in keys:
        runner.running[key].process.send_signal(signal.SIGSTOP)  # paused, not stopped: their series stay
    await publish(bus, messages)
    for marker in last.values():
        await publish(bus, marker)
    alerted: set[str] = set()

    async def on_alert(msg: Any) -> None:
        alerted.add(json.loads(msg.data)["labels"].get("pod", ""))

    sub = await bus.nc.subscribe(bus.space.alerts("H8"), cb=on_alert)
    processes = [psutil.Process(runner.running[k].process.pid) for k in keys]
    cpu_before = sum(p.cpu_times().user + p.cpu_times().system for p in processes)
    nats_before = nats.cpu_times().user + nats.cpu_times().system
    started = time.perf_counter()
    for key in keys:
        runner.running[key].process.send_signal(signal.SIGCONT)
    try:
        await eventually(lambda: alerted >= set(last), timeout=1800, interval=0.01, what="every partition handled")
    finally:
        await sub.unsubscribe()
    elapsed = time.perf_counter() - started
    cpu = sum(p.cpu_times().user + p.cpu_times().system for p in processes) - cpu_before
    nats_cpu = nats.cpu_times().user + nats.cpu_times().system - nats_before
    samples = sum(len(json.loads(body)["data"]["samples"]) for _, body, _ in messages)
    rate: float = samples / elapsed
    figure(f"detector_metric_samples_per_second_{replicas}_replicas", rate, "samples/s")
    figure(f"detector_metric_samples_per_cpu_second_{replicas}_replicas", samples / cpu, "samples/CPU-s")
    figure(f"detector_cores_used_{replicas}_replicas", cpu / elapsed, "cores (CPU-s per second of the run)")
    figure(f"nats_server_cores_used_{replicas}_replicas", nats_cpu / elapsed, "cores (same run)")
    figure(f"load_average_1m_{replicas}_replicas", os.getloadavg()[0], f"(the machine: {os.cpu_count()} cores)")
    rss = sum(psutil.Process(runner.running[k].process.pid).memory_info().rss for k in keys)
    figure(f"detector_rss_with_series_{replicas}_replicas", rss / 2**20, f"MiB ({args.series} series, all replicas)")
    return rate


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
                messages = placed(bus, bus.space.events("bench", "condition"), cloudevent("healer.condition.v1", data))
            else:
                sample = {"name": "certificate_expiry_seconds", "value": 86_400.0, "labels": {"certificate": key}}
                body = cloudevent("healer.metrics.v1", {"samples": [sample]})
                messages = placed(bus, bus.space.events("bench", "metrics"), body)
            sent[key] = time.perf_counter()
            await publish(bus, messages)
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
            await publish(bus, metric_batch(bus, k * args.batch, args.batch, args.series))
            k += 1
            await asyncio.sleep(interval)

    feeder = asyncio.create_task(stream())
    try:
        await latency(bus, args.latency_events, "loaded")
    finally:
        stop.set()
        await feeder


async def measure(workdir: Path, args: argparse.Namespace, replicas: int, with_latency: bool) -> float:
    """One run on fresh servers: throughput (and RSS) at `replicas`, then latency with one replica."""
    run = workdir / f"replicas-{replicas}"
    nats, redis = start_nats(run / "nats"), start_redis(run / "redis")
    overrides: dict[str, Any] = {"log": {"level": "WARNING"}, "bus": {"heartbeat_interval_s": 0.25}}
    overrides["scale"] = {"partitions": args.partitions, "lease_ttl_s": 60.0}  # paused replicas keep their parts
    settings: Settings = isolated_settings(nats.url, f"{redis.url}/0", run, **overrides)
    runner = ServiceRunner(settings, run)
    try:
        async with BusClient(settings, name="healer-bench") as bus:
            await bus.ensure_streams()
            rate = await throughput(runner, bus, args, replicas, psutil.Process(nats.process.pid))
            if with_latency:
                await latency(bus, args.latency_events, "idle")
                await under_load(bus, args)
                await eventually(lambda: partitions_drained(bus), timeout=120, what="drain")
    finally:
        runner.stop_all()
        redis.stop()
        nats.stop()
    return rate


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        rates = {}
        for n, replicas in enumerate(args.replicas):
            last = n == len(args.replicas) - 1
            rates[replicas] = await measure(workdir, args, replicas, with_latency=last and not args.skip_latency)
        if len(rates) > 1:
            low, high = min(rates), max(rates)
            figure(f"detector_speedup_{high}_over_{low}_replicas", rates[high] / rates[low], "x")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100_000, help="distinct series in the throughput run")
    parser.add_argument(
        "--batch", type=int, default=1_000, help="samples per healer.metrics.v1 batch, before the split"
    )
    parser.add_argument("--batches", type=int, default=400, help="batches in the throughput run")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1], help="replica counts measured, in turn")
    parser.add_argument("--partitions", type=int, default=12, help="scale.partitions of the run")
    parser.add_argument("--latency-events", type=int, default=300, help="events timed from publish to alert")
    parser.add_argument("--load", type=float, default=50_000.0, help="samples/s streamed during the loaded run")
    parser.add_argument("--skip-latency", action="store_true", help="throughput only")
    parser.add_argument("--keep", type=Path, help="keep the servers' data and the detectors' logs in this folder")
    sys.exit(asyncio.run(main(parser.parse_args())))
