"""The storm benchmark: Healer and Prometheus Alertmanager side by side under the same burst of alerts.
Prints one figure per line, `name value unit`, then a table.

    python bench/storm.py [--sizes 2000 10000 50000] [--repeats 2] [--sides alertmanager healer_http healer_nats]
                          [--group-wait-s 0] [--group-interval-s 5] [--deadline-s 180]

For each size, each side is started fresh on free loopback ports (storm_sides.py): Debian's
`prometheus-alertmanager` (apt-installed if missing), and Healer's nats-server, redis-server and six services
(not the read API);
both group by alertname, namespace and node with the same group_wait and group_interval, and both deliver to
one local webhook receiver here. The storm (storm_tally.py): five alert names over 20 nodes and 5
namespaces, 500 groups, every alert its own pod, sent in batches of 100 as fast as each side takes them:
Alertmanager through its API, Healer as Alertmanager webhooks on `POST /alertmanager` (`healer_http`) or as
`healer.condition.v1` CloudEvents on NATS (`healer_nats`). The sides take turns, A/B/A/B, `--repeats` times,
so one run's noise on a shared machine cannot decide it; the medians are compared.

Per side and size: seconds from the first batch until every group had its first notification and until
every alert was in some notification; alert -> notification latency p50/p99 (from its batch's send); incident
notifications sent (Healer's remediation steps counted apart); alerts never notified; CPU seconds during the
storm and peak RSS, summed over the side's processes (Healer's nats-server and redis-server apart).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import psutil
from aiohttp import web
from storm_profile import Profiler
from storm_sides import PIPELINE, AlertmanagerSide, HealerSide, cpu_s, peak_rss_mib
from storm_tally import Delivery, StormAlert, Tally, batches, storm

from healer_common.settings import SERVICES

SERVERS = frozenset({"nats-server", "redis-server"})


class Side(Protocol):
    name: str

    async def start(self) -> None: ...
    async def feed(self, session: aiohttp.ClientSession, batch: list[StormAlert], starts_at: dt.datetime) -> None: ...
    def delivery(self, body: dict[str, Any], at: float) -> Delivery | None: ...
    async def finish(self) -> list[Delivery]: ...
    def processes(self) -> dict[str, psutil.Process]: ...
    async def stop(self) -> None: ...


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


class Receiver:
    """The one webhook endpoint both sides deliver to; hands each body to the side being measured."""

    def __init__(self) -> None:
        self.side: Side | None = None
        self.tally: Tally | None = None
        self.changed = asyncio.Event()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        at = time.monotonic()
        if self.side is not None and self.tally is not None:
            delivery = self.side.delivery(body, at)
            if delivery is None:
                self.tally.other_notifications += 1
            else:
                self.tally.delivered(delivery)
            self.changed.set()
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_post("/hook", self.hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def until(self, done: Callable[[], bool], within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while not done():
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=left)
            except TimeoutError:
                return done()
        return True

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def measure(
    side: Side, alerts: list[StormAlert], receiver: Receiver, args: argparse.Namespace
) -> dict[str, float]:
    """Start the side, feed it the storm, wait for every alert to be told (or the deadline), and score it."""
    tally = Tally(alerts)
    await side.start()
    try:
        processes = side.processes()
        before = {name: cpu_s(p) for name, p in processes.items()}
        profiler = Profiler(args.profile, f"{len(alerts)}-{side.name}") if args.profile else None
        if profiler is not None:
            profiler.start(processes)
        receiver.side, receiver.tally = side, tally
        if args.stages and isinstance(side, HealerSide):
            await side.watch_stages()
        starts_at = dt.datetime.now(dt.UTC)
        tally.start()
        async with aiohttp.ClientSession() as session:
            for batch in batches(alerts):
                sent = time.monotonic()
                await side.feed(session, batch, starts_at)
                tally.batch_sent(batch, sent)
        fed_s = time.monotonic() - tally.started
        await receiver.until(lambda: tally.complete, args.deadline_s)
        await asyncio.sleep(args.group_interval_s + 1.0)  # what arrives after the last alert is counted too
        for late in await side.finish():
            tally.delivered(late, count=False)
        receiver.side = receiver.tally = None
        if profiler is not None:
            profiler.stop()
            profiler.summary()
        cpu = {name: cpu_s(p) - before[name] for name, p in processes.items()}
        rss = {name: peak_rss_mib(p) for name, p in processes.items()}
    finally:
        await side.stop()
    found = tally.figures()
    noted = getattr(side, "stages", {})
    stages = {stage: sorted(t - tally.started for t in times) for stage, times in noted.items() if times}
    for stage, times in stages.items():
        found[f"{stage}_first_s"], found[f"{stage}_last_s"] = times[0], times[-1]
        found[f"{stage}_count"] = float(len(times))
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        run = f"{len(alerts)}-{side.name}-{time.time():.0f}"
        (args.dump / f"{run}.json").write_text(json.dumps(tally.log))
        if stages:
            (args.dump / f"{run}-stages.json").write_text(json.dumps(stages))
        if isinstance(side, HealerSide) and side.seen:  # each alert and revision's way, for a closer look
            on_bus, revisions = side.on_bus(tally.started)
            timeline = {pod: [tally.sent[pod] - tally.started, told - tally.started, on_bus.get(pod)]
                        for pod, told in tally.told.items()}  # fmt: skip
            (args.dump / f"{run}-alerts.json").write_text(json.dumps(timeline))
            (args.dump / f"{run}-revisions.json").write_text(json.dumps(revisions))
    found["fed_s"] = fed_s
    found["cpu_s"] = sum(v for n, v in cpu.items() if n not in SERVERS)
    if len(cpu) > 1:
        found |= {f"cpu_s_{name.replace('-', '_')}": value for name, value in cpu.items()}
    found["peak_rss_mib"] = sum(v for n, v in rss.items() if n not in SERVERS)
    if any(n in SERVERS for n in cpu):
        found["servers_cpu_s"] = sum(v for n, v in cpu.items() if n in SERVERS)
        found["servers_peak_rss_mib"] = sum(v for n, v in rss.items() if n in SERVERS)
    return found


def make_side(name: str, receiver: Receiver, args: argparse.Namespace) -> Side:
    timing = (args.group_wait_s, args.group_interval_s)
    if name == "alertmanager":
        return AlertmanagerSide(receiver.url, *timing)
    via = name.removeprefix("healer_")
    return HealerSide(receiver.url, *timing, via=via, logs=args.logs, services=tuple(args.services))


def unit_of(metric: str) -> str:
    if metric.endswith("_s") or "_s_" in metric:
        return "s"
    return "MiB" if metric.endswith("_mib") else "count"


def report(size: int, runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Every run's figures, then each side's medians and its ratios to Alertmanager's."""
    medians: dict[str, dict[str, float]] = {}
    for side, side_runs in runs.items():
        for k, run in enumerate(side_runs, 1):
            for metric, value in run.items():
                figure(f"storm_{size}_{side}_{metric}_run{k}", value, unit_of(metric))
        medians[side] = {m: statistics.median(r[m] for r in side_runs) for m in side_runs[0]}
        for metric, value in medians[side].items():
            figure(f"storm_{size}_{side}_{metric}", value, unit_of(metric))
    base = medians.get("alertmanager")
    for side, found in medians.items():
        if side == "alertmanager" or base is None:
            continue
        for metric in ("every_group_first_s", "every_alert_s", "latency_p99_s", "notifications", "cpu_s"):
            ratio = found[metric] / base[metric] if base[metric] else math.nan
            figure(f"storm_{size}_{side}_{metric}_ratio_to_alertmanager", ratio, "x")
        goal = (
            found["every_alert_s"] <= 1.5 * base["every_alert_s"]
            and found["latency_p99_s"] <= base["latency_p99_s"] + 1.0
            and found["notifications"] <= base["notifications"]
            and found["alerts_missing"] == 0
        )
        figure(f"storm_{size}_{side}_meets_goal", float(goal), "bool")
    return medians


def table(results: dict[int, dict[str, dict[str, float]]]) -> None:
    """The medians as a Markdown table, for the README."""
    rows = [
        ("every group's first notification (s)", "every_group_first_s"),
        ("every alert in a notification (s)", "every_alert_s"),
        ("latency p50 (s)", "latency_p50_s"),
        ("latency p99 (s)", "latency_p99_s"),
        ("notifications", "notifications"),
        ("alerts never notified", "alerts_missing"),
        ("CPU seconds (services)", "cpu_s"),
        ("peak RSS MiB (services)", "peak_rss_mib"),
        ("CPU seconds / peak RSS MiB (nats + redis)", "servers"),
    ]
    for size, medians in results.items():
        sides = list(medians)
        print(f"\n{size:,} alerts | " + " | ".join(sides))
        print("| --- " * (len(sides) + 1) + "|")
        for label, metric in rows:
            cells = []
            for side in sides:
                found = medians[side]
                if metric == "servers":
                    cells.append(
                        f"{found['servers_cpu_s']:.1f} / {found['servers_peak_rss_mib']:.0f}"
                        if "servers_cpu_s" in found
                        else "-"
                    )
                else:
                    cells.append(f"{found[metric]:.3g}")
            print(f"| {label} | " + " | ".join(cells) + " |")


async def main(args: argparse.Namespace) -> int:
    receiver = Receiver()
    await receiver.start()
    results: dict[int, dict[str, dict[str, float]]] = {}
    try:
        for size in args.sizes:
            alerts = storm(size)
            runs: dict[str, list[dict[str, float]]] = {side: [] for side in args.sides}
            for _ in range(args.repeats):
                for name in args.sides:  # A/B/A/B: the sides take turns
                    runs[name].append(await measure(make_side(name, receiver, args), alerts, receiver, args))
            results[size] = report(size, runs)
    finally:
        await receiver.stop()
    table(results)
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000, 50_000], help="alerts per storm")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each side per size, taking turns")
    parser.add_argument(
        "--sides",
        nargs="+",
        default=["alertmanager", "healer_http", "healer_nats"],
        choices=["alertmanager", "healer_http", "healer_nats"],
    )
    parser.add_argument("--group-wait-s", type=float, default=0.0, help="both sides' group_wait")
    parser.add_argument("--group-interval-s", type=float, default=5.0, help="both sides' group_interval")
    parser.add_argument("--profile", type=Path, help="sample Healer's services with py-spy, raw stacks kept here")
    parser.add_argument("--stages", action="store_true", help="time Healer's alerts and revisions on the bus too")
    parser.add_argument(
        "--services", nargs="+", default=list(PIPELINE), choices=SERVICES, help="Healer's services to run (the six)"
    )
    parser.add_argument("--logs", type=Path, help="keep Healer's service logs here")
    parser.add_argument(
        "--dump",
        type=Path,
        help="write each run's notifications (when, how many alerts) here; with --stages, its bus times too, and "
        "each alert's (sent, told, on the bus) and each incident's revisions (number, on the bus, its time)",
    )
    parser.add_argument("--deadline-s", type=float, default=180.0, help="give up waiting for the last alert after")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
