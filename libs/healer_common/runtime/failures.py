"""What a failure means for the message that met it: errors.py's tree, with the errors of the libraries Healer
talks through (nats-py, redis-py, pydantic, the network) placed in it. delivery.py asks `classify` after every
failed handler; bus.py uses the same table for its own publishes.

    InvalidMessage                                  -> invalid    ack once, dead-letter
    Permanent, TooLarge, nats MaxPayloadError,      -> permanent  term, dead-letter (bounded excerpt)
      BadSubject, JetStream 4xx API answers,
      a pydantic ValidationError inside a handler
    Unreachable, Redis connection/timeout,          -> outage     nak with backoff until the dependency is back;
      NATS down (timeouts, no servers, closed,                    not counted against the message
      reconnecting, JetStream unavailable),
      ConnectionError / TimeoutError
    Retryable(delay)                                -> retry      nak with its delay; counted, dead-lettered after
    anything else (a bug)                           -> retry      the consumer's max_deliver failures
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import nats.errors
import nats.js.errors
from pydantic import ValidationError
from redis import exceptions as redis_errors

from healer_common.errors import InvalidMessage, Permanent, Retryable, Unreachable

FailureKind = Literal["invalid", "permanent", "outage", "retry"]

_NATS_PERMANENT = (nats.errors.MaxPayloadError, nats.errors.BadSubjectError, nats.errors.BadHeaderError)
_REDIS_DOWN = (redis_errors.ConnectionError, redis_errors.TimeoutError)


@dataclass(frozen=True)
class Verdict:
    kind: FailureKind
    delay: float | None = None  # what a Retryable asked for
    dependency: str | None = None  # for an outage: which one


def _nats_verdict(exc: nats.errors.Error) -> Verdict:
    if isinstance(exc, _NATS_PERMANENT):
        return Verdict("permanent")
    if isinstance(exc, nats.js.errors.APIError) and not isinstance(exc, nats.js.errors.ServiceUnavailableError):
        code = exc.code or 0
        return Verdict("permanent") if 400 <= code < 500 else Verdict("outage", dependency="nats")
    return Verdict("outage", dependency="nats")


def classify(exc: BaseException) -> Verdict:
    """The decision a failure asks for (see the module's table)."""
    match exc:
        case InvalidMessage():
            verdict = Verdict("invalid")
        case Permanent() | ValidationError():
            verdict = Verdict("permanent")
        case Unreachable():
            verdict = Verdict("outage", delay=exc.delay, dependency=exc.server.lower())
        case Retryable():
            verdict = Verdict("retry", delay=exc.delay)
        case nats.errors.Error():
            verdict = _nats_verdict(exc)
        case redis_errors.RedisError() if isinstance(exc, _REDIS_DOWN):
            verdict = Verdict("outage", dependency="redis")
        case ConnectionError() | TimeoutError():
            verdict = Verdict("outage", dependency="network")
        case _:
            verdict = Verdict("retry")
    return verdict


def closed_for_good(exc: BaseException) -> bool:
    """The NATS connection will not come back (the process exits, bus.py): retrying a publish is pointless."""
    return isinstance(exc, nats.errors.ConnectionClosedError)


def outage_delay(deliveries: int, cap_s: float) -> float:
    """Backoff while a dependency is down: 0.5 s, doubling per delivery, at most `cap_s`."""
    return min(cap_s, 0.5 * float(2 ** min(max(deliveries - 1, 0), 16)))


def failure_delay(failures: int, cap_s: float = 60.0) -> float:
    """Backoff after an unexpected failure: 0.5 s, doubling per failure, at most `cap_s`."""
    return min(cap_s, 0.5 * float(2 ** min(max(failures - 1, 0), 16)))
