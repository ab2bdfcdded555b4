"""The loki source against a local peer that answers `/loki/api/v1/query_range` in Loki's documented shape
(streams of [nanosecond time, line]), filtering its lines by the query's `|~` pattern and time range as Loki
would; and answering with Loki's errors: a bad query (400), too many requests (429), a failure (500), silence."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import kmock
import pytest

from healer_common.clock import SystemClock
from healer_common.runtime.busclient import BusClient
from healer_common.settings.collector import LokiSourceSettings, RetrySettings
from healer_common.testing import HttpPeer, Recorder, answer, event_kind, eventually, recording
from services.collector.outbox import Outbox
from services.collector.sight import SourceSight
from services.collector.sources.http_reads import Polling
from services.collector.sources.loki import LokiSource
from services.collector.topology import Topology

pytestmark = pytest.mark.integration
QUICK = RetrySettings(attempts=2, backoff_s=0.05, max_backoff_s=0.1)
PATH = "/loki/api/v1/query_range"


@dataclass
class LokiPeer:
    """A few log streams, answered the way Loki answers query_range."""

    lines: list[tuple[dict[str, str], int, str]] = field(default_factory=list)

    def add(self, labels: dict[str, str], line: str) -> None:
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1e9)
        self.lines.append((labels, now - 1_000_000_000, line))  # a second ago, as Loki has it after ingestion

    def query_range(self, request: kmock.Request) -> Any:
        params = request.params
        pattern = re.search(r'\|~ "(.*)"$', params["query"])
        if pattern is None:
            return answer(400, b"parse error at line 1, col 1: syntax error")
        start, end = int(params["start"]), int(params["end"])
        streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
        for labels, stamp, line in self.lines:
            if start <= stamp <= end and re.search(pattern.group(1), line):
                streams.setdefault(tuple(sorted(labels.items())), []).append([str(stamp), line])
        result = [{"stream": dict(key), "values": values} for key, values in streams.items()]
        body = {"status": "success", "data": {"resultType": "streams", "result": result, "stats": {}}}
        return answer(200, body)  # an explicit status: kmock keeps the last one it sent


def loki_source(url: str, bus: BusClient, **settings: Any) -> tuple[LokiSource, SourceSight]:
    clock = SystemClock()
    sight = SourceSight("loki", clock.now(), unreachable_after=1)
    options = LokiSourceSettings(**{"timeout_s": 2.0, **settings})
    outbox = Outbox(bus.publish_raw, bus.space, "prod-eu-1", clock, partitions=bus.settings.scale.partitions)
    return LokiSource(Polling(url, QUICK, sight, outbox, Topology().enrich, clock), options), sight


def lines(seen: Recorder) -> list[dict[str, Any]]:
    return [body["data"] for body in seen.bodies() if body["type"] == "healer.log.v1"]


def reasons(seen: Recorder) -> list[str]:
    return [body["data"]["reason"] for body in seen.bodies() if body["type"] == "healer.condition.v1"]


async def test_lines_loki_finds_arrive_once_as_log_events_with_their_stream_and_query(
    http_peer: HttpPeer, bus: BusClient
) -> None:
    loki = LokiPeer()
    http_peer.handler[f"get {PATH}"] << loki.query_range
    gateway = {"namespace": "cto", "app": "gateway", "pod": "gateway-5f7-x2"}
    loki.add(gateway, "error: dial tcp: lookup redis.cto.svc: no such host")
    loki.add({"namespace": "db", "app": "orders"}, "FATAL: sorry, too many clients already")
    loki.add(gateway, "request served in 3ms")
    collector, sight = loki_source(http_peer.url, bus)

    async with (
        httpx.AsyncClient(base_url=http_peer.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):
        await collector.read(http)
        await seen.wait_count(lambda m: event_kind(m.subject) == "log", 2)
        await collector.read(http)  # the same window again, overlapping: nothing new
        loki.add(gateway, "panic: queue is full, dropping job 42")
        await collector.read(http)
        await seen.wait_count(lambda m: event_kind(m.subject) == "log", 3)

    found = lines(seen)
    assert [(d["line"], d["labels"]["query"], d["level"]) for d in found] == [
        ("error: dial tcp: lookup redis.cto.svc: no such host", "dns", "error"),
        ("FATAL: sorry, too many clients already", "database", "critical"),
        ("panic: queue is full, dropping job 42", "queue", "critical"),
    ]
    assert found[0]["labels"] == {"namespace": "cto", "app": "gateway", "pod": "gateway-5f7-x2", "query": "dns"}
    assert all(
        bus.space.without_partition(m.subject) == bus.space.events("loki", "log")
        for m in seen.messages
        if event_kind(m.subject) == "log"
    )
    assert reasons(seen) == ["SourceHealthy", "DNSFailure"], "the failed lookup is also a condition about its pod"
    failure = next(
        b["data"] for b in seen.bodies() if b["type"] == "healer.condition.v1" and b["data"]["reason"] == "DNSFailure"
    )
    assert failure["resource"] == {"kind": "Pod", "namespace": "cto", "name": "gateway-5f7-x2", "container": None}
    assert failure["labels"]["host"] == "redis.cto.svc"
    assert sight.health().state == "Healthy"


async def test_a_query_loki_cannot_parse_degrades_the_source_and_the_others_go_on(
    http_peer: HttpPeer, bus: BusClient
) -> None:
    loki = LokiPeer()
    http_peer.handler[f"get {PATH}"] << loki.query_range
    loki.add({"namespace": "cto", "app": "api"}, "Traceback (most recent call last):")
    collector, sight = loki_source(http_peer.url, bus, queries={"mine": '{app="api"} |= "oops" | json |'})

    async with (
        httpx.AsyncClient(base_url=http_peer.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):
        await collector.read(http)
        await seen.wait_count(lambda m: event_kind(m.subject) == "log", 1)

    health = sight.health()
    assert health.state == "Degraded"
    assert health.error == "query mine: HTTP 400: parse error at line 1, col 1: syntax error"
    assert [d["labels"]["query"] for d in lines(seen)] == ["errors"]


async def test_too_many_requests_is_retried_after_the_time_loki_asks_for(http_peer: HttpPeer, bus: BusClient) -> None:
    loki = LokiPeer()
    loki.add({"namespace": "cto", "app": "api"}, "error: upstream reset")
    refusals = iter([answer(429, b"too many outstanding requests", {"Retry-After": "1"})])
    http_peer.handler[f"get {PATH}"] << (lambda request: next(refusals, None) or loki.query_range(request))
    collector, sight = loki_source(
        http_peer.url, bus, default_queries=False, queries={"errors": '{app="api"} |~ "error"'}
    )

    async with (
        httpx.AsyncClient(base_url=http_peer.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):
        await collector.read(http)
        await seen.wait_count(lambda m: event_kind(m.subject) == "log", 1)

    asked = http_peer.received("GET", PATH)
    assert len(asked) == 2
    assert sight.health().state == "Healthy"


async def test_a_failing_or_silent_loki_is_unreachable_and_says_so(http_peer: HttpPeer, bus: BusClient) -> None:
    async def silent() -> dict[str, Any]:
        await asyncio.sleep(1.5)  # longer than the source waits
        return {"status": "success", "data": {"resultType": "streams", "result": []}}

    http_peer.handler[f"get {PATH}"] << answer(500, b"internal error: too many tenants")
    failing, failing_sight = loki_source(
        http_peer.url, bus, default_queries=False, queries={"errors": '{a="b"} |~ "x"'}
    )
    async with (
        httpx.AsyncClient(base_url=http_peer.url, timeout=5) as http,
        recording(bus, bus.space.all_events) as seen,
    ):
        await failing.read(http)
        await seen.wait_for(lambda m: event_kind(m.subject) == "condition", what="SourceUnreachable")

    quiet_peer = kmock.RawHandler()
    quiet_peer[f"get {PATH}"] << silent
    async with quiet_peer, kmock.Server(quiet_peer) as server:
        url = str(server.url).rstrip("/")
        quiet, quiet_sight = loki_source(
            url, bus, default_queries=False, queries={"errors": '{a="b"} |~ "x"'}, timeout_s=0.3
        )
        async with httpx.AsyncClient(base_url=url, timeout=0.3) as http:
            await quiet.read(http)
        peer = HttpPeer(quiet_peer, url)
        await eventually(lambda: len(peer.received("GET", PATH)) >= 2, what="both tries reaching the silent peer")

    assert reasons(seen) == ["SourceUnreachable"]
    assert failing_sight.health().error == "HTTP 500: internal error: too many tenants"
    assert quiet_sight.health().state == "Unreachable"
    assert (quiet_sight.health().error or "").startswith("ReadTimeout")
