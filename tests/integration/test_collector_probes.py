"""The probes source checking local peers that answer like GitHub's API does (rate-limit headers, 429 when the
quota is gone), fail (503), stay silent, and serve TLS with a certificate that expires: what a user sees on
the bus for each."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from healer_common.clock import SystemClock
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.servers import LOOPBACK, free_port
from healer_common.settings.collector import ProbesSettings, ProbeTarget, RetrySettings
from healer_common.testing import HttpPeer, Recorder, answer, event_kind, recording
from services.collector.outbox import Outbox
from services.collector.sources import samples
from services.collector.sources.probes import ProbesSource

pytestmark = pytest.mark.integration
QUICK = RetrySettings(attempts=2, backoff_s=0.05, max_backoff_s=0.1)


@contextlib.asynccontextmanager
async def probing(bus: BusClient, *targets: ProbeTarget, timeout_s: float = 2.0) -> AsyncIterator[Recorder]:
    """The probes source running over `targets` every 0.2 s, publishing to the test's bus, for the block."""
    clock = SystemClock()
    settings = ProbesSettings(interval_s=0.2, timeout_s=timeout_s, targets=list(targets))
    source = ProbesSource(
        settings,
        QUICK,
        Outbox(bus.publish_raw, bus.space, "prod-eu-1", clock, partitions=bus.settings.scale.partitions),
        clock,
    )
    async with recording(bus, bus.space.all_events) as seen:
        task = asyncio.create_task(source.run())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def condition(reason: str) -> Callable[[RawMessage], bool]:
    return lambda m: event_kind(m.subject) == "condition" and f'"reason":"{reason}"' in m.data.decode()


def last_samples(seen: Recorder) -> dict[str, float]:
    values: dict[str, float] = {}
    for body in seen.bodies():
        for sample in body["data"].get("samples", []):
            values[sample["name"]] = sample["value"]
    return values


def github_headers(remaining: int, reset_in_s: int) -> dict[str, str]:
    reset = int(dt.datetime.now(dt.UTC).timestamp()) + reset_in_s
    return {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": str(reset)}


async def test_a_healthy_api_reports_success_latency_and_the_quota_left(http_peer: HttpPeer, bus: BusClient) -> None:
    http_peer.handler["get /rate_limit"] << answer(200, {"resources": {}}, github_headers(4000, 600))
    github = ProbeTarget(name="github", url=f"{http_peer.url}/rate_limit")

    async with probing(bus, github) as seen:
        succeeded = await seen.wait_for(condition("ProbeSucceeded"), what="ProbeSucceeded")
        await seen.wait_for(lambda m: event_kind(m.subject) == "metrics", what="the probe's samples")

    values = last_samples(seen)
    assert values["probe_success"] == 1.0
    assert 0 < values["probe_duration_seconds"] < 2
    assert values["ratelimit_remaining_ratio"] == 0.8
    assert values["probe_ratelimit_remaining"] == 4000
    assert 590 <= values["probe_ratelimit_reset_seconds"] <= 600
    assert bus.space.without_partition(succeeded.subject) == bus.space.events("probes", "condition")
    assert len([m for m in seen.messages if condition("ProbeSucceeded")(m)]) == 1, "said once, not every run"


async def test_an_exhausted_quota_answered_with_429_is_rate_limiting_not_a_failed_probe(
    http_peer: HttpPeer, bus: BusClient
) -> None:
    headers = github_headers(0, 42) | {"Retry-After": "42"}
    http_peer.handler["get /user"] << answer(429, {"message": "API rate limit exceeded"}, headers)

    async with probing(bus, ProbeTarget(name="github", url=f"{http_peer.url}/user")) as seen:
        limited = await seen.wait_for(condition("RateLimited"), what="RateLimited")
        await seen.wait_for(lambda m: event_kind(m.subject) == "metrics", what="the probe's samples")

    data = seen.bodies(limited.subject)[0]["data"]
    assert (data["labels"]["status_code"], data["labels"]["retry_after_s"]) == ("429", "42")
    assert data["message"] == f"HTTP 429 from {http_peer.url}/user: rate limited"
    assert not [m for m in seen.messages if condition("ProbeFailed")(m)], "not a network failure (H5)"
    values = last_samples(seen)
    assert (values["probe_success"], values["ratelimit_remaining_ratio"]) == (0.0, 0.0)
    assert 32 <= values["probe_ratelimit_reset_seconds"] <= 42


async def test_a_failing_service_is_reported_down_then_up_again(http_peer: HttpPeer, bus: BusClient) -> None:
    answers = iter([503, 503])
    http_peer.handler["get /healthz"] << (lambda: answer(next(answers, 200), payload={"status": "?"}))

    async with probing(bus, ProbeTarget(name="api", url=f"{http_peer.url}/healthz")) as seen:
        await seen.wait_for(condition("ProbeSucceeded"), what="the recovery")

    found = [
        (b["data"]["reason"], b["data"].get("message")) for b in seen.bodies() if b["type"] == "healer.condition.v1"
    ]
    assert found == [("ProbeFailed", f"HTTP 503 from {http_peer.url}/healthz"), ("ProbeSucceeded", None)]


async def test_a_silent_service_is_a_failed_probe_after_its_timeout_and_retry(bus: BusClient) -> None:
    tries: list[bytes] = []

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tries.append(await reader.readline())  # reads the request line, then says nothing until the client leaves
        await reader.read()
        writer.close()

    server = await asyncio.start_server(never_answer, LOOPBACK, 0)
    url = f"http://{LOOPBACK}:{server.sockets[0].getsockname()[1]}/slow"
    async with server, probing(bus, ProbeTarget(name="slow", url=url), timeout_s=0.3) as seen:
        failed = await seen.wait_for(condition("ProbeFailed"), what="ProbeFailed")

    assert seen.bodies(failed.subject)[0]["data"]["message"] == f"no answer from {url} within 0.3s"
    assert len(tries) >= 2, "a connection that fails is tried again before it counts"


@pytest.fixture
async def tls_peer(tmp_path: Path) -> AsyncIterator[tuple[str, Path, dt.datetime]]:
    """An HTTPS server on 127.0.0.1 with a certificate (its own CA) that expires in 20 days."""
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).replace(microsecond=0)
    certificate, key = samples.self_signed_certificate(expires, LOOPBACK)
    cert_file, key_file = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert_file.write_bytes(certificate)
    key_file.write_bytes(key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)

    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, LOOPBACK, port, ssl_context=context).start()
    yield f"https://{LOOPBACK}:{port}/", cert_file, expires
    await runner.cleanup()


async def test_an_https_target_reports_when_its_certificate_expires(
    tls_peer: tuple[str, Path, dt.datetime], bus: BusClient
) -> None:
    url, ca_file, expires = tls_peer

    async with probing(bus, ProbeTarget(name="internal-api", url=url, ca_file=ca_file)) as seen:
        await seen.wait_for(condition("ProbeSucceeded"), what="the TLS probe succeeding")
        await seen.wait_for(lambda m: event_kind(m.subject) == "metrics", what="the probe's samples")

    left = last_samples(seen)["probe_tls_expiry_seconds"]
    assert abs(left - (expires - dt.datetime.now(dt.UTC)).total_seconds()) < 120
