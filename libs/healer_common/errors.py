"""Errors named by the decision they ask for.

    HealerError
    ├── Retryable(delay)     try again later: the message is nak'ed with that delay (a peer is down, a lock
    │   │                    is held); after the consumer's max_deliver it is dead-lettered
    │   └── Unreachable      NATS or Redis refused the connection or did not answer; the message says which
    │                        server, at what URL (password masked), why, and which setting points at it
    ├── Permanent            retrying cannot help: the message is terminated and dead-lettered
    │   └── InvalidMessage   the input is not JSON or fails its model; acked once and dead-lettered
    ├── RefusedByPolicy      a guard said no (protected target, rate limit, kill switch); audited, not retried
    └── ConfigError          a setting, playbook or rule is wrong; raised at load, naming the field and why

Anything else raised by a handler is a bug or an unforeseen outage and is treated as Retryable with
exponential backoff, so a transient fault never loses a message and a poison one ends in the DLQ.
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
