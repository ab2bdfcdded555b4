"""The notifier benchmark: how many incidents per second the notifier tells, and how long from an incident's
publication to its delivery. Prints one figure per line, `name value unit`.

    python bench/notifier.py [--incidents 2000] [--latency-incidents 300] [--rate 30]

It starts its own nats-server and redis-server on free loopback ports, a local receiver that answers as a
webhook endpoint and as Slack's Web API (chat.postMessage, chat.update), and the notifier as a process with
two channels: the signed webhook and Slack threads (every incident a root message, kept in Redis).

1. Throughput: with the notifier stopped, publish opened incidents; start it and time from its first delivery
   to the last (both channels delivered for every incident).
2. Latency: with the notifier running, publish incidents at a steady rate and time each from publication to
   its arrival at the webhook receiver; p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from healer_common.contract.incidents import AlertSummary, Incident
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, isolated_settings


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def incident(incident_id: str) -> Incident:
    when = dt.datetime.now(dt.UTC)
    summary = AlertSummary(
        fingerprint=f"fp{incident_id}", alert_id="H8", status="firing", severity="critical", starts_at=when,
        labels={"alertname": "H8", "pod": incident_id}, summary=f"memory pressure on {incident_id}",
    )  # fmt: skip
    return Incident(
        incident_id=incident_id, state="opened", revision=1, title=f"memory pressure: pod bench/{incident_id}",
        severity="critical", cluster="bench", namespace="bench", group_key=incident_id, alerts=[summary],
        opened_at=when, time=when,
    )  # fmt: skip


class Receiver:
    """Webhook endpoint and Slack Web API in one local server; notes when each incident arrived."""

    def __init__(self) -> None:
        self.webhook: dict[str, float] = {}
        self.slack = 0
        self.changed = asyncio.Event()
        self._ts = itertools.count(1)

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.webhook.setdefault(body["incident_id"], time.perf_counter())
        self.changed.set()
        return web.Response(status=204)

    async def post_message(self, request: web.Request) -> web.Response:
        await request.read()
        self.slack += 1
        self.changed.set()
        return web.json_response({"ok": True, "channel": "C0BENCH", "ts": f"1767603600.{next(self._ts):06d}"})

    async def until(self, done: Callable[[], object], within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while not done():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), timeout=max(0.01, deadline - time.monotonic()))


async def serve(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", receiver.hook)
    app.router.add_post("/api/chat.postMessage", receiver.post_message)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def throughput(runner: ServiceRunner, bus: BusClient, receiver: Receiver, count: int) -> None:
    await asyncio.gather(*(bus.publish(incident(f"tp-{i}")) for i in range(count)))
    runner.start("notifier")
    await runner.wait_running("notifier", timeout=60)
    await receiver.until(lambda: receiver.webhook, within_s=120)
    first = min(receiver.webhook.values())
    await receiver.until(lambda: len(receiver.webhook) >= count and receiver.slack >= count, within_s=600)
    elapsed = time.perf_counter() - first
    figure("notifier_incidents_per_second", count / elapsed, "incidents/s")
    figure("notifier_deliveries_per_second", 2 * count / elapsed, "deliveries/s")
    figure("notifier_throughput_incidents", count, "incidents")


async def latency(bus: BusClient, receiver: Receiver, count: int, rate: float) -> None:
    sent: dict[str, float] = {}
    for i in range(count):
        incident_id = f"lat-{i}"
        sent[incident_id] = time.perf_counter()
        await bus.publish(incident(incident_id))
        await asyncio.sleep(1 / rate)
    await receiver.until(lambda: all(i in receiver.webhook for i in sent), within_s=120)
    took_ms = sorted((receiver.webhook[i] - t) * 1000 for i, t in sent.items())
    figure("notifier_publish_to_delivery_p50", statistics.median(took_ms), "ms")
    figure("notifier_publish_to_delivery_p99", took_ms[max(0, int(len(took_ms) * 0.99) - 1)], "ms")
    figure("notifier_latency_samples", len(took_ms), "incidents")


async def main(args: argparse.Namespace) -> int:
    receiver = Receiver()
    http, url = await serve(receiver)
    with tempfile.TemporaryDirectory(prefix="healer-bench-") as tmp:
        workdir = Path(tmp)
        nats, redis = start_nats(workdir / "nats"), start_redis(workdir / "redis")
        notifier = {"console": False, "webhook_url": f"{url}/hook", "webhook_secret": "bench-secret"}
        notifier |= {"slack_token": "xoxb-bench", "slack_api_url": f"{url}/api/"}
        settings: Settings = isolated_settings(
            nats.url, f"{redis.url}/0", workdir, log={"level": "WARNING"}, notifier=notifier
        )
        runner = ServiceRunner(settings, workdir)
        try:
            async with BusClient(settings, name="healer-bench") as bus:
                await bus.ensure_streams()
                await throughput(runner, bus, receiver, args.incidents)
                await latency(bus, receiver, args.latency_incidents, args.rate)
        finally:
            runner.stop_all()
            redis.stop()
            nats.stop()
            await http.cleanup()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--incidents", type=int, default=2_000, help="incidents for the throughput run")
    parser.add_argument("--latency-incidents", type=int, default=300, help="incidents timed publish to delivery")
    parser.add_argument("--rate", type=float, default=30.0, help="incidents per second in the latency run")
    sys.exit(asyncio.run(main(parser.parse_args())))
