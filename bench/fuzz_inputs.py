"""The hostile inputs of bench/fuzz.py: a list of generators, each making inputs of one kind for one way in
(a bus subject or an HTTP endpoint) and saying what must become of them.

    refuse        bad input: on the bus, one dead letter with a reason per consumer of the subject; over HTTP,
                  a 4xx
    either        odd but possibly valid input (odd unicode, long tokens): handled or refused, never a crash or
                  a 5xx
    error         a request/reply request: an answer carrying "error"
    unauthorized  a request without a credential that holds (none, a wrong token, one without the scope, a
                  forged, stale or replayed signature): 401 or 403, and nothing it carries reaches the bus

To add a kind, append a `Generator` to `GENERATORS`; `share` is its part of the storm, an input's `headers`
carry what it needs beyond its body, and its `auth` says which credential the sender presents (resolved when
it is sent, as signatures carry the time: bench/fuzz.py's `credentials_for`).
"""

from __future__ import annotations

import json
import random
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from healer_common.contract.subjects import SubjectSpace

Expect = Literal["refuse", "either", "error", "unauthorized"]
Auth = Literal["admin", "none", "wrong_token", "wrong_scope", "forged_signature", "stale_signature", "replayed"]
"""The credential an HTTP input is sent with: an admin's bearer token (what any input of another kind brings, so
its body is what is judged), or one that must be refused. `replayed` sends a freshly signed request (accepted),
then the very same request again."""
MB = 1_000_000
ODD_TEXT = ["\u202e", "\u200b", "\ufeff", "\U0001f525" * 50, "\u0000", "e\u0301" * 30, "\\ud800", "'; DROP TABLE--"]


@dataclass(frozen=True)
class BusInput:
    subject: str
    body: bytes
    request: bool = False  # core request/reply instead of a JetStream publish
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpInput:
    service: Literal["collector", "remediator"]
    path: str
    body: bytes
    content_type: str = "application/cloudevents+json"
    slow_bytes_per_s: float | None = None  # sent this slowly
    stop_after: int | None = None  # only this many bytes of the body are sent, then the client waits
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    auth: Auth = "admin"


Input = BusInput | HttpInput


@dataclass(frozen=True)
class Generator:
    name: str
    expect: Expect
    share: float  # weight in the storm
    make: Callable[[random.Random, SubjectSpace], Input]
    cap: int | None = None  # at most this many (slow or large inputs)
    tags: tuple[str, ...] = field(default=())


def valid_event(rng: random.Random, **data_changes: Any) -> dict[str, Any]:
    pod = f"fz-{rng.randrange(10**9)}"
    data = {"resource": {"kind": "Pod", "namespace": "fuzz", "name": pod}, "reason": "OOMKilled", **data_changes}
    return {"specversion": "1.0", "id": uuid.uuid4().hex, "source": "fuzz", "type": "healer.condition.v1", "data": data}


def _junk(rng: random.Random) -> bytes:
    choices: list[Callable[[], bytes]] = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))),
        lambda: json.dumps(valid_event(rng)).encode()[: rng.randrange(1, 60)],
        lambda: json.dumps(valid_event(rng)).encode() + b"}}garbage",
        lambda: b'{"specversion": "1.0", "value": NaN}',
        lambda: b"\xef\xbb\xbf" + json.dumps(valid_event(rng)).encode()[:-1],
        lambda: b"",
        lambda: b"null",
        lambda: json.dumps(rng.choice([[], 1, "text", True])).encode(),
    ]
    return rng.choice(choices)()


def _wrong_types(rng: random.Random) -> bytes:
    event = valid_event(rng)
    key, value = rng.choice(
        [
            ("specversion", 1.0),
            ("id", ["x"]),
            ("data", []),
            ("time", [2026, 1, 5]),  # (a number is a Unix time to pydantic: valid)
            ("type", None),
            ("source", {"uri": "x"}),
            ("cluster", 42),
        ]
    )
    event[key] = value
    return json.dumps(event).encode()


def _bad_cloudevent(rng: random.Random) -> bytes:
    event = valid_event(rng)
    changes: list[dict[str, Any]] = [
        {"specversion": "0.3"},
        {"id": ""},
        {"source": "s" * 2_000},
        {"type": "com.example.unknown"},
        {"Uppercase": "x"},
        {"waytoolongextensionname": "x"},
        {"ext": {"nested": True}},
        {"datacontenttype": "text/xml"},
        {"time": "2026-01-05T09:00:00"},
        {"cluster": "Not_A_Cluster!"},
    ]
    event.update(rng.choice(changes))
    if rng.random() < 0.3:
        del event["id"]
    return json.dumps(event).encode()


def _deep(rng: random.Random) -> bytes:
    depth = rng.choice([500, 5_000, 50_000])
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    event = valid_event(rng)
    event["data"]["labels"] = json.loads('{"a":' * 50 + "1" + "}" * 50)  # nested where strings belong
    return json.dumps(event).encode()


def _odd_unicode(rng: random.Random) -> bytes:
    odd = rng.choice(ODD_TEXT)
    event = valid_event(rng, message=odd * rng.randrange(1, 20), labels={"team": odd, odd[:10] or "k": "v"})
    text = json.dumps(event, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", errors="surrogatepass")


def _oversize(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return json.dumps(valid_event(rng, message="x" * (2 * MB))).encode()
    return b'{"specversion": "1.0", "data": "' + b"\x01" * 900_000 + b'"'


def _webhook(rng: random.Random, *, alerts: int = 1, label_bytes: int = 10) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "Fuzz", "pod": "p" * label_bytes, "namespace": "fuzz"},
        "startsAt": "2026-01-05T09:00:00Z",
    }
    return json.dumps({"receiver": f"r{rng.randrange(9)}", "status": "firing", "alerts": [alert] * alerts}).encode()


def _long_token(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters) for _ in range(rng.choice([200, 1_000, 3_000])))


def _bus(
    subject: Callable[[SubjectSpace, random.Random], str], body: Callable[[random.Random], bytes]
) -> Callable[[random.Random, SubjectSpace], Input]:
    return lambda rng, space: BusInput(subject(space, rng), body(rng))


def _http(
    path: Callable[[random.Random], str], body: Callable[[random.Random], bytes], **options: Any
) -> Callable[[random.Random, SubjectSpace], Input]:
    service: Literal["collector", "remediator"] = (
        "remediator" if options.get("service") == "remediator" else "collector"
    )
    extra = {k: v for k, v in options.items() if k != "service"}
    return lambda rng, _space: HttpInput(service, path(rng), body(rng), **extra)


def _any_family(space: SubjectSpace, rng: random.Random) -> str:
    return rng.choice(
        [
            space.custom_events("fuzz"),
            space.alertmanager("fuzz"),
            space.alerts("H8"),
            space.incidents("opened"),
            space.remediations("failed"),
            space.approvals(f"r{rng.randrange(99)}"),
            space.acks(f"i{rng.randrange(99)}"),
            space.playbook_runs("restart-it"),
        ]
    )


def _events(space: SubjectSpace, _rng: random.Random) -> str:
    return space.custom_events("fuzz")


def _memory_request(rng: random.Random, space: SubjectSpace) -> Input:
    return BusInput(rng.choice([space.memory_query, space.memory_add]), _junk(rng) or b"{}", request=True)


def _event_path(_rng: random.Random) -> str:
    return "/events/fuzz"


def _bad_source(rng: random.Random) -> str:
    return "/events/" + rng.choice([_long_token(rng) + "x" * 5_000, "a.b", "%2A", "%E2%80%AE" * 3, "x%20y"])


def _unique_source(_rng: random.Random) -> str:
    """A source of its own, so that what an unauthorized request would publish is seen on its own subject."""
    return f"/events/ua-{uuid.uuid4().hex[:12]}"


def _unauthorized(auth: Auth, share: float) -> Generator:
    body: Callable[[random.Random], bytes] = lambda r: json.dumps(valid_event(r)).encode()  # noqa: E731
    return Generator(f"http_{auth}", "unauthorized", share, _http(_unique_source, body, auth=auth))


def _unauthorized_approval(auth: Auth) -> Generator:
    make = _http(
        _approval_path,
        lambda _r: b'{"decision": "approve"}',
        service="remediator",
        content_type="application/json",
        auth=auth,
    )
    return Generator(f"http_approval_{auth}", "unauthorized", 1, make)


def _approval_path(rng: random.Random) -> str:
    return f"/approvals/r{rng.randrange(10**6)}"


def _approval_body(rng: random.Random) -> bytes:
    return rng.choice([b"[1, 2]", b'"approve"', b"null", b"{", b'{"decision": "maybe", "by": "x"}', b"{}"])


GENERATORS: list[Generator] = [
    # the bus: every consumer of the subject must dead-letter it with a reason
    Generator("bus_malformed_json", "refuse", 14, _bus(_any_family, _junk)),
    Generator("bus_wrong_types", "refuse", 10, _bus(_any_family, _wrong_types)),
    Generator("bus_bad_cloudevent", "refuse", 10, _bus(_events, _bad_cloudevent)),
    Generator("bus_deep_nesting", "refuse", 4, _bus(_any_family, _deep)),
    Generator("bus_odd_unicode", "either", 6, _bus(_events, _odd_unicode)),
    Generator("bus_oversize", "refuse", 1, _bus(_events, _oversize), cap=40),
    Generator(
        "bus_long_subject_token",
        "refuse",
        3,
        _bus(lambda space, rng: space.custom_events("fuzz") + "." + _long_token(rng)[:1_000], _junk),
    ),
    Generator(
        "bus_webhook_too_many_alerts",
        "refuse",
        1,
        _bus(lambda s, _r: s.alertmanager("fuzz"), lambda r: _webhook(r, alerts=1_001)),
    ),
    Generator(
        "bus_webhook_long_labels",
        "refuse",
        2,
        _bus(lambda s, _r: s.alertmanager("fuzz"), lambda r: _webhook(r, label_bytes=5_000)),
    ),
    Generator("bus_memory_request", "error", 3, _memory_request),
    # HTTP: every bad request gets a 4xx naming what is wrong
    Generator("http_malformed_json", "refuse", 8, _http(_event_path, lambda r: _junk(r) or b"{")),
    Generator("http_wrong_types", "refuse", 5, _http(_event_path, _wrong_types)),
    Generator("http_bad_cloudevent", "refuse", 5, _http(_event_path, _bad_cloudevent)),
    Generator("http_deep_nesting", "refuse", 2, _http(_event_path, _deep)),
    Generator("http_odd_unicode", "either", 3, _http(_event_path, _odd_unicode)),
    Generator("http_bad_source_name", "refuse", 3, _http(_bad_source, lambda r: json.dumps(valid_event(r)).encode())),
    Generator(
        "http_wrong_content_type",
        "refuse",
        2,
        _http(_event_path, lambda r: json.dumps(valid_event(r)).encode(), content_type="text/plain"),
    ),
    Generator("http_oversize_body", "refuse", 1, _http(_event_path, lambda _r: b"[" + b" " * (5 * MB) + b"]"), cap=10),
    Generator(
        "http_oversize_chunked", "refuse", 1, _http(_event_path, lambda _r: b" " * (5 * MB), chunked=True), cap=10
    ),
    Generator(
        "http_oversize_event",
        "refuse",
        1,
        _http(_event_path, lambda r: json.dumps(valid_event(r, message="x" * (2 * MB))).encode()),
        cap=10,
    ),
    Generator(
        "http_slow_partial_body",
        "refuse",
        1,
        _http(_event_path, lambda r: json.dumps(valid_event(r)).encode(), stop_after=50),
        cap=20,
    ),
    Generator(
        "http_trickled_body",
        "refuse",
        1,
        _http(_event_path, lambda r: json.dumps(valid_event(r)).encode(), slow_bytes_per_s=20.0),
        cap=10,
    ),
    Generator(
        "http_batch_too_big",
        "refuse",
        1,
        _http(
            _event_path,
            lambda r: json.dumps([valid_event(r)] * 1_001).encode(),
            content_type="application/cloudevents-batch+json",
        ),
        cap=20,
    ),
    Generator(
        "http_webhook_over_limits",
        "refuse",
        2,
        _http(
            lambda _r: "/alertmanager",
            lambda r: _webhook(r, alerts=r.choice([1, 1_001]), label_bytes=r.choice([5_000, 10_000])),
            content_type="application/json",
        ),
    ),
    # HTTP without a credential that holds: 401 or 403 and nothing published (issue 13)
    _unauthorized("none", 1),
    _unauthorized("wrong_token", 1),
    _unauthorized("wrong_scope", 1),
    _unauthorized("forged_signature", 1),
    _unauthorized("stale_signature", 1),
    _unauthorized("replayed", 1),
    _unauthorized_approval("none"),
    _unauthorized_approval("wrong_scope"),
    Generator(
        "http_approval_bad_body",
        "refuse",
        3,
        _http(_approval_path, _approval_body, service="remediator", content_type="application/json"),
    ),
]


def storm(total: int, seed: int, space: SubjectSpace) -> list[tuple[Generator, Input]]:
    """`total` inputs drawn from GENERATORS by share (each within its cap), shuffled with `seed`."""
    rng = random.Random(seed)
    weight = sum(g.share for g in GENERATORS)
    plan: list[tuple[Generator, Input]] = []
    for generator in GENERATORS:
        count = max(1, round(total * generator.share / weight))
        count = min(count, generator.cap) if generator.cap else count
        plan += [(generator, generator.make(rng, space)) for _ in range(count)]
    while len(plan) < total:  # the caps leave room: fill it with the uncapped kinds
        generator = rng.choice([g for g in GENERATORS if g.cap is None])
        plan.append((generator, generator.make(rng, space)))
    rng.shuffle(plan)
    return plan
