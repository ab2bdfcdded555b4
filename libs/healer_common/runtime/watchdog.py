"""What the delivery guard remembers between messages, and what liveness reads from it: the handlers running
now (and since when), when each consumer last got a message, and how often each failing message has failed
for its own sake (outage retries are not counted, so an outage of any length never dead-letters a message).

The failure counts live in the process: a message that fails on two replicas may be tried up to twice the
consumer's max_deliver before it is dead-lettered, and a restart forgets them. Both err on the side of trying.
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED_FAILURES = 10_000


@dataclass
class InFlight:
    subject: str
    started: float


@dataclass
class Watchdog:
    stall_after_s: float
    now: Callable[[], float] = time.monotonic  # injectable, for tests
    in_flight: dict[int, InFlight] = field(default_factory=dict)
    last_delivery: dict[str, float] = field(default_factory=dict)
    failures: OrderedDict[tuple[str, int], int] = field(default_factory=OrderedDict)
    _tokens: itertools.count[int] = field(default_factory=itertools.count)
    _born: float = 0.0

    def __post_init__(self) -> None:
        self._born = self.now()

    def begin(self, consumer: str | None, subject: str) -> int:
        token = next(self._tokens)
        now = self.now()
        self.in_flight[token] = InFlight(subject, now)
        if consumer:
            self.last_delivery[consumer] = now
        return token

    def end(self, token: int) -> None:
        self.in_flight.pop(token, None)

    def failed(self, key: tuple[str, int] | None) -> int:
        """Count one more failure of the message `key` (consumer, stream sequence); returns its count."""
        if key is None:
            return 1
        count = self.failures.pop(key, 0) + 1
        self.failures[key] = count
        while len(self.failures) > MAX_TRACKED_FAILURES:
            self.failures.popitem(last=False)
        return count

    def settled(self, key: tuple[str, int] | None) -> None:
        if key is not None:
            self.failures.pop(key, None)

    def stuck_handler(self) -> str | None:
        """A handler running past the limit, described; None when there is none."""
        now = self.now()
        for job in self.in_flight.values():
            if now - job.started > self.stall_after_s:
                return f"a handler of {job.subject} has run for {now - job.started:.0f}s (bus.stall_after_s)"
        return None

    def stalled_consumer(self, waiting: dict[str, int]) -> str | None:
        """A consumer with messages waiting that has been handed none for longer than the limit."""
        now = self.now()
        for consumer, pending in sorted(waiting.items()):
            quiet = now - self.last_delivery.get(consumer, self._born)
            if pending > 0 and quiet > self.stall_after_s:
                return (
                    f"consumer {consumer} has {pending} messages waiting and got none for {quiet:.0f}s "
                    "(bus.stall_after_s)"
                )
        return None
