"""The generic webhook channel: signed JSON out, and every failure the receiver can answer turned into
"try again later" carrying what the receiver asked for (its Retry-After; 0 when it said nothing, and the
dispatcher's backoff decides), or "refused for good".
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hashlib
import hmac
import json
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from services.notifier.channels.http_answers import retry_after
from services.notifier.channels.webhook import WebhookChannel, signature
from services.notifier.render import for_incident
from tests.support.samples import incident

SECRET = "s3cret"
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    """What the local receiver was sent: method, path, headers and body of each request."""

    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def notification() -> Notification:
    return for_incident(incident())


async def send(reply: Answer, secret: str | None = SECRET, timeout_s: float = 5.0) -> Seen:
    """Deliver one notification to a real local HTTP server answering with `reply`; what it saw."""
    seen = Seen()

    async def receive(request: web.Request) -> web.StreamResponse:
        seen.requests.append(
            (request.method, request.path, {k.lower(): v for k, v in request.headers.items()}, await request.read())
        )
        return await reply(request)

    app = web.Application()
    app.router.add_post("/hooks/healer", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/hooks/healer"
            await WebhookChannel(url, secret, session, timeout_s).send(notification())
    finally:
        await runner.cleanup()
    return seen


def answer(status: int, **headers: str) -> Answer:
    async def reply(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers=headers)

    return reply


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"kind":"incident_opened"}'
    expected = hmac.new(b"s3cret", b"1767603600." + body, hashlib.sha256).hexdigest()

    assert signature("s3cret", "1767603600", body) == f"sha256={expected}"


def test_the_signature_changes_with_the_timestamp_the_body_and_the_secret() -> None:
    base = signature("s3cret", "1", b"{}")

    assert (
        len({base, signature("s3cret", "2", b"{}"), signature("s3cret", "1", b"[]"), signature("other", "1", b"{}")})
        == 4
    )


async def test_a_notification_is_posted_as_json_with_a_signature_the_receiver_can_check() -> None:
    before = int(time.time())
    seen = await send(answer(202))

    ((method, path, headers, content),) = seen.requests
    assert (method, path) == ("POST", "/hooks/healer")
    assert headers["content-type"] == "application/json"
    body = json.loads(content)
    assert body["notification_id"] == notification().notification_id
    assert body["kind"] == "incident_opened"
    stamp = headers["x-healer-timestamp"]
    assert before <= int(stamp) <= int(time.time())
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + content, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-healer-signature"], f"sha256={mac}")


async def test_without_a_secret_nothing_is_signed() -> None:
    seen = await send(answer(200), secret=None)

    headers = seen.requests[0][2]
    assert "x-healer-signature" not in headers
    assert "x-healer-timestamp" not in headers


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_answer_is_a_delivery(status: int) -> None:
    await send(answer(status))


async def test_429_is_retried_after_the_delay_the_receiver_asked_for() -> None:
    with pytest.raises(Retryable, match="HTTP 429") as caught:
        await send(answer(429, **{"Retry-After": "17"}))

    assert caught.value.delay == 17.0


async def test_429_with_an_http_date_retry_after_is_retried_about_then() -> None:
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60), usegmt=True)

    with pytest.raises(Retryable) as caught:
        await send(answer(429, **{"Retry-After": when}))

    assert 55.0 <= caught.value.delay <= 61.0


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_retried(status: int) -> None:
    with pytest.raises(Retryable, match=f"HTTP {status}") as caught:
        await send(answer(status))

    assert caught.value.delay == 0.0, "no Retry-After: the dispatcher's backoff decides"


async def test_a_client_error_is_given_up_at_once_and_says_it_was_refused() -> None:
    with pytest.raises(Permanent, match="refused the notification: HTTP 400"):
        await send(answer(400))


async def slow(_request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(1)
    return web.Response(status=200)


async def hang_up(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=200)


@pytest.mark.parametrize(("reply", "error"), [(slow, "TimeoutError"), (hang_up, "ServerDisconnectedError")])
async def test_an_unreachable_receiver_is_retried(reply: Answer, error: str) -> None:
    with pytest.raises(Retryable, match=f"webhook unreachable: {error}") as caught:
        await send(reply, timeout_s=0.5)

    assert caught.value.delay == 0.0


async def test_a_receiver_that_is_not_listening_is_retried() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        channel = WebhookChannel(f"http://127.0.0.1:{port}/hooks/healer", SECRET, session)
        with pytest.raises(Retryable, match="webhook unreachable: ClientConnectorError"):
            await channel.send(notification())


@pytest.mark.parametrize(
    ("header", "delay"),
    [(None, 0.0), ("", 0.0), ("0", 0.0), ("2.5", 2.5), ("-5", 0.0), ("soon", 0.0), ("nan", 0.0), ("inf", 0.0)],
)
def test_retry_after_reads_seconds_and_means_no_wish_when_unusable(header: str | None, delay: float) -> None:
    assert retry_after(header) == delay


def test_retry_after_in_the_past_means_now() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
