"""Where every source of one cluster publishes: emissions in, CloudEvents out on the bus, in order.

A transition has already been remembered as emitted when it gets here (transitions.py), so the outbox does
not give up: through a NATS outage it keeps retrying (the bus's publish retries with backoff and raises
Retryable after its deadline; this retries that), and the source waits. Counts what it published, by kind,
for the collector's heartbeat and its benchmark.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from healer_common.clock import Clock
from healer_common.contract.subjects import SubjectSpace
from healer_common.errors import Retryable
from healer_common.logging import get_logger
from services.collector.envelopes import envelopes
from services.collector.observations import Emission

Publish = Callable[[str, bytes, dict[str, str]], Awaitable[None]]


class Outbox:
    def __init__(self, publish: Publish, space: SubjectSpace, cluster: str, clock: Clock, *, partitions: int) -> None:
        self._publish = publish
        self._space = space
        self._partitions = partitions
        self.cluster = cluster
        self._clock = clock
        self.published: Counter[str] = Counter()
        self._log = get_logger().bind(cluster=cluster)

    async def emit(self, source: str, emission: Emission) -> None:
        if not emission:
            return
        now = self._clock.now()
        for envelope in envelopes(self._space, self.cluster, source, emission, now, partitions=self._partitions):
            while True:
                try:
                    await self._publish(envelope.subject, envelope.body, envelope.headers)
                    break
                except Retryable as exc:
                    self._log.warning("publish_held", subject=envelope.subject, error=str(exc), retry_in_s=exc.delay)
                    await asyncio.sleep(exc.delay)
            self.published[envelope.kind] += 1
