"""The read API benchmark: how fast `GET /api/v1/alerts` answers over a stream of 10,000 alerts, and how fast the
dashboard is composed. Prints one figure per line, `name value unit`.

    python bench/api.py [--alerts 10000] [--requests 300] [--alert-view-max 100000]

It starts its own nats-server and redis-server on free loopback ports, publishes the alerts (H8 and H4 on
10,000 pods, one in ten critical), starts the api service as its own process and times requests from this
process over loopback HTTP, one at a time (latency, not throughput):

- the newest page of 100, of 1,000, and the whole list of 10,000 in one answer (api.max_page raised to it, up
  to 10,000; a hundred requests at the default --requests, so that its p99 is not simply the slowest of 20);
- a filtered page (severity=critical: one alert in ten kept, the rest read and skipped by header);
- a page from the middle of the history (a cursor 5,000 alerts back);
- the dashboard (health, tiles, recent alerts, incidents, runs);
- how long the api takes at start to read the stream into its alert view (timing starts once it has), and
  the memory the api's alert view (services/api/alert_view.py) takes for 10,000 and 100,000 of these alerts,
  measured in this process with tracemalloc.

Alert pages are answered from the api's in-memory view of the stream; `--alert-view-max 0` turns it off, so
every page is read off the stream as before it.

Figures are noisy on a shared machine: run it on an idle one for a claim.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import httpx

from healer_cli.progress import progress
from healer_common.contract.alerts import Alert, Severity, alert_fingerprint
from healer_common.contract.events import ResourceRef
from healer_common.contract.headers import headers_for
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import start_nats, start_redis
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import ServiceRunner, eventually, isolated_settings
from services.api.alert_view import AlertView

CHUNK = 500
MAX_PAGE = 10_000  # api.max_page's ceiling: a larger stream is not listed in one answer


def figure(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def alert(n: int) -> Alert:
    alert_id = "H8" if n % 2 else "H4"
    severity: Severity = "critical" if n % 10 == 0 else "warning"
    pod = ResourceRef(kind="Pod", namespace="cto", name=f"worker-{n}")
    labels = {"alertname": alert_id, "severity": severity, "cluster": "default", "namespace": "cto", "pod": pod.name}
    return Alert(
        alert_id=alert_id,
        status="firing",
        severity=severity,
        fingerprint=alert_fingerprint(alert_id, "default", pod, {"alertname": alert_id}),
        cluster="default",
        namespace="cto",
        resource=pod,
        labels=labels,
        annotations={"summary": f"{alert_id} on pod cto/{pod.name}"},
        starts_at=dt.datetime.now(dt.UTC),
    )


async def api_url(runner: ServiceRunner) -> str:
    redis = connect_redis(runner.settings)
    try:

        async def served() -> str | None:
            beats = await read_heartbeats(redis, KeySpace(runner.settings.redis.key_prefix))
            return next((b.detail["http"] for b in beats if b.service == "api"), None)

        url: str = await eventually(served, timeout=60, what="the api's heartbeat")
        return url
    finally:
        await redis.aclose()


async def timed(http: httpx.AsyncClient, path: str, params: dict[str, str | int], requests: int) -> list[float]:
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await http.get(path, params=params)
        answer.raise_for_status()
        seconds.append(time.perf_counter() - started)
    return seconds


def report(name: str, seconds: list[float]) -> None:
    ordered = sorted(seconds)
    figure(f"{name}_p50", statistics.median(ordered) * 1000, "ms")
    figure(f"{name}_p99", ordered[min(len(ordered) - 1, round(len(ordered) * 0.99))] * 1000, "ms")


async def view_built(runner: ServiceRunner) -> float:
    """Seconds the api took to read the stream into its alert view at start (its `alert_view_built` line)."""

    async def said() -> float | None:
        lines = [json.loads(line) for line in runner.running["api"].log().splitlines() if "alert_view_built" in line]
        return float(lines[0]["seconds"]) if lines else None

    seconds: float = await eventually(said, timeout=120, what="the api's alert view built")
    return seconds


def view_megabytes(alerts: int) -> float:
    """What the api's alert view holds for `alerts` of these alerts: every body and header value a copy of its
    own, as nats-py hands them over."""
    made = [alert(n) for n in range(min(alerts, 10_000))]
    stored = [(a.model_dump_json().encode(), headers_for(a), f"healer.alerts.{a.alert_id}") for a in made]
    when = dt.datetime.now(dt.UTC)
    tracemalloc.start()
    try:
        view = AlertView(alerts)
        for seq in range(1, alerts + 1):
            body, headers, subject = stored[seq % len(stored)]
            copied = {k: "".join(list(v)) for k, v in headers.items()}
            view.add(seq, when, "".join(list(subject)), copied, bytes(bytearray(body)))
        return tracemalloc.get_traced_memory()[0] / 1e6
    finally:
        tracemalloc.stop()


async def main(alerts: int, requests: int, view_max: int) -> None:
    with tempfile.TemporaryDirectory(prefix="healer-bench-api-") as folder:
        work = Path(folder)
        nats, redis = start_nats(work / "nats"), start_redis(work / "redis")
        try:
            settings = isolated_settings(
                nats.url,
                f"{redis.url}/0",
                work,
                api={"max_page": min(max(alerts, 10), MAX_PAGE), "alert_view_max": view_max},
            )
            async with BusClient(settings) as bus:
                await bus.ensure_streams()
                started = time.perf_counter()
                with progress("publishing alerts", total=alerts) as advance:
                    for i in range(0, alerts, CHUNK):
                        await asyncio.gather(*(bus.publish(alert(n)) for n in range(i, min(alerts, i + CHUNK))))
                        advance(min(CHUNK, alerts - i))
                figure("api_publish_alerts_per_s", alerts / (time.perf_counter() - started), "alerts/s")
                runner = ServiceRunner(settings, work)
                runner.start("api")
                try:
                    await runner.wait_running(timeout=60)
                    url = await api_url(runner)
                    if view_max > 0:
                        figure("api_alert_view_built_s", await view_built(runner), "s")
                    await measure(url, alerts, requests)
                finally:
                    runner.stop_all()
        finally:
            redis.stop()
            nats.stop()
    for size in (10_000, 100_000):
        figure(f"api_alert_view_{size}", view_megabytes(size), "MB")


async def measure(url: str, alerts: int, requests: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        path = "/api/v1/alerts"
        middle = (await http.get(path, params={"limit": min(alerts // 2, MAX_PAGE)})).json()["next"]
        figure("api_alerts_stored", alerts, "alerts")
        report("api_alerts_page_100", await timed(http, path, {"limit": 100}, requests))
        report("api_alerts_page_1000", await timed(http, path, {"limit": 1000}, max(20, requests // 5)))
        report("api_alerts_critical_page_100", await timed(http, path, {"severity": "critical"}, requests))
        report("api_alerts_middle_page_100", await timed(http, path, {"limit": 100, "cursor": middle}, requests))
        if alerts <= MAX_PAGE:
            report(f"api_alerts_all_{alerts}", await timed(http, path, {"limit": alerts}, max(20, requests // 3)))
        report("api_dashboard", await timed(http, "/api/v1/dashboard", {}, max(20, requests // 5)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--alert-view-max", type=int, default=100_000, help="the api's alert_view_max (0: off)")
    args = parser.parse_args()
    asyncio.run(main(args.alerts, args.requests, args.alert_view_max))
    sys.exit(0)
