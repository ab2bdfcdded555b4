"""Errors named by the decision they ask for.

    HealerError
    ├── Retryable(delay)       try again later: the message is nak'ed with that delay (a peer answered 503, a
    │   │                      lock is held); after the consumer's max_deliver failures it is dead-lettered
    │   └── Unreachable        NATS, Redis or another server Healer needs cannot be reached; the message says
    │                          which, at what URL (password masked), why, and which setting points at it. A
    │                          command ends with this one line; a service's message waits with backoff until
    │                          the server is back, never dead-lettered for it (an outage is not its fault)
    ├── Permanent              retrying cannot help: the message is terminated and dead-lettered
    │   ├── InvalidMessage     the input is not JSON or fails its model; acked once and dead-lettered
    │   └── TooLarge(size)     the input (or what it would produce) is over a size limit; dead-lettered as a
    │                          bounded excerpt with its original size
    ├── RefusedByPolicy        a guard said no (protected target, rate limit, kill switch); audited, not retried
    └── ConfigError            a setting, playbook or rule is wrong; raised at load, naming the field and why

The runtime maps library errors onto this tree (runtime/failures.py): a Redis or NATS connection error is
Unreachable, NATS' "maximum payload exceeded" is TooLarge, a pydantic ValidationError raised inside a
handler is Permanent. Anything else raised by a handler is a bug or an unforeseen fault and is treated as
Retryable with exponential backoff, so a transient fault never loses a message and a poison one ends in the DLQ.
A NATS connection closed for good is none of these: the process exits, so its supervisor restarts it.
"""

from __future__ import annotations


class HealerError(Exception):
    """Base of every error Healer raises on purpose."""


class Retryable(HealerError):
    def __init__(self, message: str, *, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class Unreachable(Retryable):
    """A server Healer needs cannot be reached; a command ends with this one line, a service waits and retries."""

    def __init__(self, message: str, *, server: str, delay: float = 1.0) -> None:
        super().__init__(message, delay=delay)
        self.server = server


class Permanent(HealerError):
    """Processing this input can never succeed."""


class TooLarge(Permanent):
    """Input over a size limit: `size` bytes where `limit` are allowed."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class InvalidMessage(Permanent):
    """The body is not JSON or does not validate against the subject's model."""


class RefusedByPolicy(HealerError):
    def __init__(self, message: str, *, policy: str) -> None:
        super().__init__(message)
        self.policy = policy


class ConfigError(HealerError):
    """Bad configuration, rejected at load with the field, the value and what to do."""

    def __init__(self, message: str, *, field: str | None = None, source: str | None = None) -> None:
        where = " ".join(p for p in (f"in {source}" if source else "", f"at {field}" if field else "") if p)
        super().__init__(f"{message} ({where})" if where else message)
        self.field = field
        self.source = source
