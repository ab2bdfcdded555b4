"""The memory benchmark: how fast memory answers with 100,000 memories in the embedded store, and how much
memory-bridge holds at that size. Prints one figure per line, `name value unit`.

    python bench/memory.py [--memories 100000] [--queries 500]

1. Fill an embedded store (a SQLite file) with generated memories: remediation outcomes of many kinds of
   incident across namespaces and workloads, facts, runbook steps and insights.
2. Query it in-process (MemoryBridge.answer: vector search, selection, recommendation, context), half the
   questions naming an alert type as the remediator does (that adds the recommendation's search).
3. Start memory-bridge on that file as its own process (with its own nats-server and redis-server on free
   ports), time the same questions over NATS request/reply, and read its RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

from healer_common.clock import SystemClock
from healer_common.contract.memory import MEMORY_TYPES, MemoryAdd, MemoryAnswer, MemoryMetadata, MemoryQuery
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import MemorySettings
from healer_common.testing import ServiceRunner, isolated_settings
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.bridge import MemoryBridge

ALERTS = ("A2", "A3", "A7", "A8", "A9", "H1", "H2", "H4", "H5", "H6", "H7", "H8")
NAMESPACES = ("cto", "staging", "data", "web", "ml", "infra", "billing", "search")
WORKLOADS = ("rex", "cleo", "tess", "blaze", "gateway", "redis", "postgres", "etl", "api", "worker", "web", "kafka")
PLAYBOOKS = ("restart-pod", "raise-memory-limit", "rollback-deploy", "scale-up", "resync-app", "rotate-secret")
WORDS = (
    *("OOMKilled", "CrashLoopBackOff", "ImagePullBackOff", "timeout", "connection", "refused", "pool", "exhausted"),
    *("disk", "full", "certificate", "expired", "sync", "drift", "latency", "spike", "queue", "backlog", "evicted"),
    *("throttled", "probe", "failed", "DNS", "lookup", "leader", "election"),
)


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def memory_item(rng: random.Random, i: int) -> MemoryAdd:
    alert, ns, workload = rng.choice(ALERTS), rng.choice(NAMESPACES), rng.choice(WORKLOADS)
    pod, playbook = f"{workload}-{rng.randint(0, 40)}", rng.choice(PLAYBOOKS)
    symptoms = " ".join(rng.sample(WORDS, 4))
    if i % 10 < 7:
        success = rng.random() < 0.7
        content = (
            f"{alert} on pod {ns}/{pod}: {symptoms}; playbook {playbook} {'succeeded' if success else 'failed'} "
            f"[remediation r{i}]"
        )
        meta = MemoryMetadata(alert_type=alert, namespace=ns, service=pod, method=playbook, success=success)
        return MemoryAdd(event_id=f"m{i}", content=content, type="episodic", metadata=meta)
    memory_type = MEMORY_TYPES[i % len(MEMORY_TYPES)]
    content = f"{workload} in {ns}: {symptoms}; {rng.choice(WORDS)} {rng.choice(WORDS)} note {i}"
    return MemoryAdd(
        event_id=f"m{i}", content=content, type=memory_type, metadata=MemoryMetadata(alert_type=alert, namespace=ns)
    )


def questions(rng: random.Random, count: int) -> list[MemoryQuery]:
    asked = []
    for i in range(count):
        alert, ns, workload = rng.choice(ALERTS), rng.choice(NAMESPACES), rng.choice(WORKLOADS)
        text = f"{alert} {ns}/{workload}-{rng.randint(0, 40)} {' '.join(rng.sample(WORDS, 3))}"
        if i % 2:
            asked.append(MemoryQuery(text=text, alert_type=alert, namespace=ns, service=f"{workload}-1"))
        else:
            asked.append(MemoryQuery(text=text))
    return asked


async def fill(path: Path, count: int) -> None:
    store = EmbeddedStore(path)
    bridge = MemoryBridge(store, SystemClock(), MemorySettings())
    rng = random.Random(1)
    started = time.perf_counter()
    for i in range(count):
        await bridge.remember(memory_item(rng, i))
    figure("memory_fill_rate", count / (time.perf_counter() - started), "memories/s")
    await store.close()
    figure("memory_store_size", sum(f.stat().st_size for f in path.parent.glob(f"{path.name}*")) / 2**20, "MiB")


async def in_process(path: Path, asked: list[MemoryQuery]) -> None:
    started = time.perf_counter()
    store = EmbeddedStore(path)
    figure("memory_store_open_s", time.perf_counter() - started, "s")
    bridge = MemoryBridge(store, SystemClock(), MemorySettings())
    took, cpu, matched = [], [], 0
    for question in asked:
        t, c = time.perf_counter(), time.process_time()
        answer = await bridge.answer(question, [])
        took.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        matched += bool(answer.matches)
    await store.close()
    figure("memory_query_in_process_p50", statistics.median(took), "ms")
    figure("memory_query_in_process_p99", percentile(took, 0.99), "ms")
    figure("memory_query_cpu_p99", percentile(cpu, 0.99), "ms-cpu")  # robust to a busy machine's scheduling
    figure("memory_query_answered_share", matched / len(asked), "ratio")


async def over_the_bus(workdir: Path, path: Path, asked: list[MemoryQuery]) -> None:
    nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
    settings = isolated_settings(
        nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"}, memory={"store_path": path}
    )
    runner = ServiceRunner(settings, workdir)
    try:
        started = time.perf_counter()
        runner.start("memory-bridge")
        await runner.wait_running(timeout=300)
        figure("memory_bridge_start_s", time.perf_counter() - started, "s")
        async with BusClient(settings, name="healer-bench") as bus:
            took = []
            for question in asked:
                t = time.perf_counter()
                await bus.request(bus.space.memory_query, question, MemoryAnswer, 30.0)
                took.append((time.perf_counter() - t) * 1000)
        figure("memory_query_over_nats_p50", statistics.median(took), "ms")
        figure("memory_query_over_nats_p99", percentile(took, 0.99), "ms")
        rss = psutil.Process(runner.running["memory-bridge"].process.pid).memory_info().rss
        figure("rss_memory_bridge", rss / 2**20, "MiB")
    finally:
        runner.stop_all()
        redis.stop()
        nats.stop()


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="healer-bench-memory-") as tmp:
        workdir = Path(tmp)
        path = workdir / "memory.sqlite3"
        figure("memory_memories", args.memories, "memories")
        await fill(path, args.memories)
        asked = questions(random.Random(2), args.queries)
        await in_process(path, asked)
        await over_the_bus(workdir, path, asked)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=100_000, help="memories in the embedded store")
    parser.add_argument("--queries", type=int, default=500, help="questions timed, half naming an alert type")
    sys.exit(asyncio.run(main(parser.parse_args())))
