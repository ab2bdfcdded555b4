"""The generic webhook channel: signed JSON out, and every failure the receiver can answer turned into
"try again later" carrying what the receiver asked for (its Retry-After; 0 when it said nothing, and the
dispatcher's backoff decides), or "refused for good".
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import pytest

from healer_common.contract.notifications import Notification
from healer_common.errors import Permanent, Retryable
from services.notifier.channels.http_answers import retry_after
from services.notifier.channels.webhook import WebhookChannel, signature
from services.notifier.render import for_incident
from tests.support.samples import incident

URL = "http://receiver.test/hooks/healer"
SECRET = "s3cret"


def notification() -> Notification:
    return for_incident(incident())


async def send(handler: Callable[[httpx.Request], httpx.Response], secret: str | None = SECRET) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await WebhookChannel(URL, secret, http).send(notification())


def answer(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(status, headers=headers)


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
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    before = int(time.time())
    await send(receiver)

    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", URL)
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body["notification_id"] == notification().notification_id
    assert body["kind"] == "incident_opened"
    stamp = request.headers["x-healer-timestamp"]
    assert before <= int(stamp) <= int(time.time())
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.content, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["x-healer-signature"], f"sha256={mac}")


async def test_without_a_secret_nothing_is_signed() -> None:
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    await send(receiver, secret=None)

    assert "x-healer-signature" not in seen[0].headers
    assert "x-healer-timestamp" not in seen[0].headers


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


@pytest.mark.parametrize(
    "error", [httpx.ConnectError("connection refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")]
)
async def test_an_unreachable_receiver_is_retried(error: httpx.HTTPError) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(Retryable, match=f"webhook unreachable: {type(error).__name__}") as caught:
        await send(down)

    assert caught.value.delay == 0.0


@pytest.mark.parametrize(
    ("header", "delay"),
    [(None, 0.0), ("", 0.0), ("0", 0.0), ("2.5", 2.5), ("-5", 0.0), ("soon", 0.0), ("nan", 0.0), ("inf", 0.0)],
)
def test_retry_after_reads_seconds_and_means_no_wish_when_unusable(header: str | None, delay: float) -> None:
    assert retry_after(header) == delay


def test_retry_after_in_the_past_means_now() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
