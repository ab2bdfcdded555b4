"""What a failure means for its message (wait out an outage, retry, dead-letter), dead letters that always fit on
the bus, and the watchdog that tells liveness a handler or consumer is stuck."""

from __future__ import annotations

import base64
import json

import nats.errors
import nats.js.errors
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from redis import exceptions as redis_errors

from healer_common.contract.codec import encode
from healer_common.errors import InvalidMessage, Permanent, Retryable, TooLarge, Unreachable
from healer_common.runtime.dead_letters import Original, bounded_letter
from healer_common.runtime.failures import classify, failure_delay, outage_delay
from healer_common.runtime.watchdog import Watchdog

MIB = 1024 * 1024


class _Model(BaseModel):
    name: str


def _validation_error() -> ValidationError:
    try:
        _Model.model_validate({})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "kind", "dependency"),
    [
        (InvalidMessage("not json"), "invalid", None),
        (TooLarge("big", size=2 * MIB, limit=MIB), "permanent", None),
        (Permanent("no"), "permanent", None),
        (nats.errors.MaxPayloadError(), "permanent", None),
        (nats.js.errors.BadRequestError(code=400, description="message size exceeds maximum"), "permanent", None),
        (_validation_error(), "permanent", None),
        (redis_errors.ConnectionError("refused"), "outage", "redis"),
        (redis_errors.TimeoutError("slow"), "outage", "redis"),
        (nats.errors.TimeoutError(), "outage", "nats"),
        (nats.errors.ConnectionClosedError(), "outage", "nats"),
        (nats.errors.NoServersError(), "outage", "nats"),
        (nats.js.errors.ServiceUnavailableError(code=503), "outage", "nats"),
        (Unreachable("kube api down", server="Kubernetes"), "outage", "kubernetes"),
        (ConnectionRefusedError(), "outage", "network"),
        (Retryable("lock held", delay=3.0), "retry", None),
        (KeyError("bug"), "retry", None),
        (redis_errors.ResponseError("WRONGTYPE"), "retry", None),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_each_failure_is_classified_by_what_it_means(error: Exception, kind: str, dependency: str | None) -> None:
    verdict = classify(error)

    assert verdict.kind == kind
    assert verdict.dependency == dependency


def test_a_retryable_keeps_the_delay_it_asked_for() -> None:
    assert classify(Retryable("503", delay=7.0)).delay == 7.0


def test_outage_backoff_doubles_up_to_its_cap_and_failures_up_to_a_minute() -> None:
    assert [outage_delay(n, 10.0) for n in (1, 2, 3, 4, 5, 6, 100)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert failure_delay(1) == 0.5
    assert failure_delay(50) == 60.0


def original(body: bytes) -> Original:
    return Original("e1", "detector", "healer.events.custom.ci", body, {"Nats-Msg-Id": "m1"}, 1, "HEALER_EVENTS", 42)


def test_a_2mb_body_is_dead_lettered_as_an_excerpt_with_its_size_and_where_the_original_is() -> None:
    body = b'{"data": "' + b"x" * (2 * MIB) + b'"}'
    error = TooLarge("message of 2 MiB exceeds limits.message_bytes", size=len(body), limit=MIB)

    letter = bounded_letter(original(body), error, excerpt_bytes=64 * 1024, max_bytes=MIB - 8192)

    assert letter.truncated
    assert letter.size == len(body)
    assert len(letter.payload) == 64 * 1024
    assert letter.payload.startswith('{"data": "xxx')
    assert (letter.stream, letter.stream_seq) == ("HEALER_EVENTS", 42)
    assert letter.reason == "message of 2 MiB exceeds limits.message_bytes"
    assert len(encode(letter)) < MIB


def test_a_body_that_json_escaping_blows_up_still_fits() -> None:
    body = b"\x01" * 600_000  # each byte becomes \\u0001: six characters

    letter = bounded_letter(original(body), InvalidMessage("not json"), excerpt_bytes=MIB, max_bytes=MIB - 8192)

    assert len(encode(letter)) <= MIB - 8192
    assert letter.truncated
    assert letter.size == 600_000


def test_a_small_body_is_kept_whole_and_binary_as_base64() -> None:
    text = bounded_letter(original(b'{"a": 1}'), InvalidMessage("x"), excerpt_bytes=1024, max_bytes=MIB)
    binary = bounded_letter(original(b"\xff\xfe\x00"), InvalidMessage("x"), excerpt_bytes=1024, max_bytes=MIB)

    assert (text.payload, text.payload_encoding, text.truncated) == ('{"a": 1}', "utf-8", False)
    assert binary.payload_encoding == "base64"
    assert base64.b64decode(binary.payload) == b"\xff\xfe\x00"


def test_an_excerpt_cut_inside_a_multibyte_character_stays_text() -> None:
    body = "é".encode() * 1000

    letter = bounded_letter(original(body), InvalidMessage("x"), excerpt_bytes=1001, max_bytes=MIB)

    assert letter.payload_encoding == "utf-8"
    assert letter.payload == "é" * 500


@given(st.binary(max_size=20_000), st.text(max_size=3_000))
def test_every_dead_letter_fits_whatever_the_body_headers_and_reason(body: bytes, reason: str) -> None:
    headers = {f"h{i}": reason for i in range(100)}
    source = Original("e", "s", "subj", body, headers, 3, None, None)

    letter = bounded_letter(source, InvalidMessage(reason), excerpt_bytes=8_192, max_bytes=16_384)

    assert len(encode(letter)) <= 16_384
    assert json.loads(encode(letter))["size"] == len(body)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_handler_running_past_the_limit_is_reported_until_it_ends() -> None:
    clock = FakeTime()
    dog = Watchdog(stall_after_s=300, now=clock)
    token = dog.begin("detector-events", "healer.events.custom.ci")

    clock.now += 299
    assert dog.stuck_handler() is None
    clock.now += 2
    assert "healer.events.custom.ci has run for 301s" in (dog.stuck_handler() or "")
    dog.end(token)
    assert dog.stuck_handler() is None


def test_a_consumer_with_waiting_messages_and_no_delivery_for_too_long_is_stalled() -> None:
    clock = FakeTime()
    dog = Watchdog(stall_after_s=60, now=clock)
    dog.end(dog.begin("detector-events", "s"))

    clock.now += 61
    assert dog.stalled_consumer({"detector-events": 0}) is None, "nothing waiting: idle, not stalled"
    assert "detector-events has 5 messages waiting" in (dog.stalled_consumer({"detector-events": 5}) or "")
    dog.end(dog.begin("detector-events", "s"))
    assert dog.stalled_consumer({"detector-events": 5}) is None


def test_failures_are_counted_per_message_and_forgotten_once_settled() -> None:
    dog = Watchdog(stall_after_s=60)
    key = ("detector-events", 7)

    assert [dog.failed(key) for _ in range(3)] == [1, 2, 3]
    dog.settled(key)
    assert dog.failed(key) == 1
    assert dog.failed(None) == 1
