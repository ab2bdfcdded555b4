"""The correlator benchmark: root-cause accuracy, grouping precision and recall, and alerts per second on one
core, measured on a generated history with planted causes (bench/alert_history.py). Prints one figure per
line, `name value unit`.

    python bench/correlator.py [--alerts 10000] [--seed 7] [--mean-gap-s 360]

It starts its own nats-server and redis-server on free loopback ports and lets a correlator keep the
history's deploys (live, a deploy is heard of before the alerts it causes). Then it fills the alert stream with
the whole history, starts one correlator process pinned to one CPU and times it until its durable consumer has
acked every alert. It then reads every incident revision back from
JetStream and scores the last revision of each incident against the plant:

- grouping precision and recall, pairwise over alerts: of the pairs of alerts put in one incident, the share
  that came from one problem; of the pairs from one problem, the share put in one incident;
- top-1 root-cause accuracy: for each problem, the incident holding most of its alerts names the planted
  object as its top cause (for a rollout: the deploy itself, a `change` cause on that Deployment), overall,
  per kind of problem, and over the second half of the history (after the correlator has learned links).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import psutil
from alert_history import CLUSTER, History, generate

from healer_common.contract.events import CHANGE_ADAPTER
from healer_common.contract.streams import CORRELATOR_ALERTS, CORRELATOR_CHANGES, INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.testing import ServiceRunner, consumer_drained, eventually, isolated_settings

CHUNK = 500


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


async def learn_changes(runner: ServiceRunner, bus: BusClient, history: History) -> None:
    """Let the correlator keep every deploy first: live, a deploy is heard of before the alerts it causes."""
    for body in history.changes:
        await bus.publish_event(bus.space.changes(CLUSTER), CHANGE_ADAPTER.validate_json(body))
    runner.start("correlator")
    try:
        await runner.wait_running(timeout=120)
        await eventually(lambda: consumer_drained(bus, CORRELATOR_CHANGES), timeout=600, interval=0.2, what="changes")
    finally:
        runner.stop_all()


async def correlate(runner: ServiceRunner, bus: BusClient, history: History) -> float:
    """Fill the alert stream, then run one correlator on one CPU over it; alerts handled per second."""
    for i in range(0, len(history.alerts), CHUNK):
        await asyncio.gather(*(bus.publish(alert) for alert in history.alerts[i : i + CHUNK]))
    runner.start("correlator")
    try:
        process = psutil.Process(runner.running["correlator"].process.pid)
        process.cpu_affinity([process.cpu_affinity()[0]])
        await runner.wait_running(timeout=120)
        info = await bus.js.consumer_info(CORRELATOR_ALERTS.stream.name(bus.space), CORRELATOR_ALERTS.durable)
        done_before, started = info.ack_floor.stream_seq or 0, time.monotonic()
        await eventually(lambda: consumer_drained(bus, CORRELATOR_ALERTS), timeout=7200, interval=0.5, what="drained")
        return (len(history.alerts) - done_before) / (time.monotonic() - started)
    finally:
        runner.stop_all()


async def last_revisions(bus: BusClient, since: dt.datetime) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    async for msg in bus.history(INCIDENTS, since, filter_subject=bus.space.all_incidents):
        body = json.loads(msg.data)
        if body["revision"] >= latest.get(body["incident_id"], {"revision": 0})["revision"]:
            latest[body["incident_id"]] = body
    return list(latest.values())


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def grouping(history: History, incidents: list[dict[str, Any]]) -> tuple[float, float, dict[str, str]]:
    """Pairwise precision and recall; and, per problem, the incident holding most of its alerts."""
    together: Counter[tuple[str, str]] = Counter()  # (incident, problem) -> alerts
    for incident in incidents:
        for alert in incident["alerts"]:
            problem = history.truth.get((alert["fingerprint"], dt.datetime.fromisoformat(alert["starts_at"])))
            if problem is not None:
                together[incident["incident_id"], problem] += 1
    per_incident: Counter[str] = Counter()
    for (incident_id, _), n in together.items():
        per_incident[incident_id] += n
    same = sum(_pairs(n) for n in together.values())
    predicted = sum(_pairs(n) for n in per_incident.values())
    true_pairs = sum(_pairs(n) for n in Counter(history.truth.values()).values())
    majority = {problem: incident_id for (incident_id, problem), _ in sorted(together.items(), key=lambda kv: kv[1])}
    return same / max(predicted, 1), same / max(true_pairs, 1), majority


def _named(cause: dict[str, Any] | None) -> tuple[str, str | None, str] | None:
    if not cause or not cause.get("resource"):
        return None
    r = cause["resource"]
    return (r["kind"], r.get("namespace"), r["name"])


def accuracy(history: History, incidents: list[dict[str, Any]], majority: dict[str, str]) -> dict[str, float]:
    by_id = {i["incident_id"]: i for i in incidents}
    hits: dict[str, list[bool]] = defaultdict(list)
    ordered = sorted(majority, key=lambda s: int(s[1:]))
    for position, scenario_id in enumerate(ordered):
        planted = history.scenarios[scenario_id]
        top = (by_id[majority[scenario_id]]["causes"] or [None])[0]
        hit = _named(top) == (planted.cause.kind, planted.cause.namespace, planted.cause.name)
        if planted.cause_is_change:
            hit = hit and top is not None and top["kind"] == "change"
        for bucket in ("all", planted.kind, "second-half" if position >= len(ordered) // 2 else "first-half"):
            hits[bucket].append(hit)
    return {bucket: sum(h) / len(h) for bucket, h in hits.items()}


async def main(args: argparse.Namespace) -> None:
    history = generate(args.alerts, seed=args.seed, mean_gap_s=args.mean_gap_s)
    workdir = Path(tempfile.mkdtemp(prefix="healer-bench-correlator-"))
    nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
    try:
        settings = isolated_settings(nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING", "format": "json"})
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        async with BusClient(settings, name="healer-bench") as bus:
            await bus.ensure_streams()
            await learn_changes(ServiceRunner(settings, workdir), bus, history)
            rate = await correlate(ServiceRunner(settings, workdir), bus, history)
            incidents = await last_revisions(bus, since)
    finally:
        nats.stop()
        redis.stop()
    if args.dump:
        args.dump.write_text(json.dumps(incidents, indent=1))
    precision, recall, majority = grouping(history, incidents)
    figure("history_alerts_firing", history.firing, "alerts")
    figure("history_problems", len(majority), "problems")
    figure("incidents", len(incidents), "incidents")
    figure("correlator_throughput_one_core", rate, "alerts/s")
    figure("grouping_precision", precision, "ratio")
    figure("grouping_recall", recall, "ratio")
    for bucket, value in sorted(accuracy(history, incidents, majority).items()):
        figure(f"root_cause_top1_accuracy_{bucket.replace('-', '_')}", value, "ratio")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000, help="firing alerts in the history (each resolves)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mean-gap-s", type=float, default=360.0, help="mean time between problems")
    parser.add_argument("--dump", type=Path, help="write the last revision of every incident here, to look into")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse(sys.argv[1:])))
