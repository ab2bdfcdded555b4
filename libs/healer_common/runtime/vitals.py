"""A service's vital signs: the heartbeat it writes to Redis, the consumer lag it exports, and the answer to
"can this process still do its work?" that `/healthz` gives Kubernetes.

    heartbeat   every bus.heartbeat_interval_s: state, counters, lag per consumer -> Redis (TTL 3 beats), and the
                `healer_consumer_lag_messages` and `healer_dlq_messages` gauges; they are read before Redis is
                written, so they are exported through a Redis outage too
    trouble()   None while alive; else the reason: the NATS connection is closed for good (the process also
                exits, bus.py), a handler has run past bus.stall_after_s, or a consumer has messages waiting
                and was handed none for that long (its pull loop is dead)

A NATS or Redis outage is not trouble: the service cannot be helped by a restart, so `/readyz` says 503 and
`/healthz` stays 200 until the outage ends.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from healer_common.contract.health import Heartbeat
from healer_common.contract.streams import DLQ
from healer_common.runtime import metrics
from healer_common.runtime.heartbeat import write_heartbeat
from healer_common.runtime.jetstream import NATS_DOWN

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service

LAG_READ_S = 2.0


class Vitals:
    def __init__(self, service: Service) -> None:
        self._svc = service
        self._stalled: str | None = None

    def connection_closed(self) -> bool:
        connection = getattr(self._svc.broker, "_connection", None)
        return connection is not None and bool(connection.is_closed) and self._svc.state == "running"

    def trouble(self) -> str | None:
        """Why this process can no longer do its work (so a restart is due); None while it can."""
        if self.connection_closed():
            return "the NATS connection is closed for good"
        return self._svc.watchdog.stuck_handler() or self._stalled

    async def lag(self) -> dict[str, tuple[int, int]] | None:
        """Per durable consumer: (waiting, waiting + delivered but unacked); None while NATS cannot say."""
        svc = self._svc
        js = svc.broker.config.connection_state.stream
        if js is None:
            return None
        found: dict[str, tuple[int, int]] = {}
        try:
            async with asyncio.timeout(LAG_READ_S):  # not wait_for: in 3.11 it can swallow a cancellation
                for spec in svc.consumer_specs.values():
                    info = await js.consumer_info(spec.stream.name(svc.space), spec.durable)
                    found[spec.durable] = (info.num_pending or 0, (info.num_pending or 0) + (info.num_ack_pending or 0))
                    metrics.CONSUMER_LAG.labels(svc.name, spec.durable).set(found[spec.durable][1])
                dlq = svc.space.dlq(svc.name)
                info = await js.stream_info(DLQ.name(svc.space), subjects_filter=dlq)
                metrics.DLQ_DEPTH.labels(svc.name).set((info.state.subjects or {}).get(dlq, 0))
        except NATS_DOWN:  # a consumer not found is a JetStream APIError, a nats.errors.Error too
            return None
        return found

    async def heartbeat(self) -> None:
        svc = self._svc
        state = svc.state
        connection = getattr(svc.broker, "_connection", None)
        if state == "running" and (connection is None or not connection.is_connected):
            state = "degraded"
        lag = await self.lag()
        self._stalled = svc.watchdog.stalled_consumer({c: w for c, (w, _) in lag.items()}) if lag else None
        beat = Heartbeat(
            service=svc.name,
            instance=svc.instance,
            state=state,
            pid=os.getpid(),
            host=socket.gethostname(),
            version=svc.version,
            started_at=svc.started_at,
            time=svc.clock.now(),
            processed=svc.counters.processed,
            failed=svc.counters.failed,
            dead_lettered=svc.counters.dead_lettered,
            consumer_lag=sum(total for _, total in lag.values()) if lag else None,
            detail={"http": svc.http.url, **svc.detail, **({"trouble": t} if (t := self.trouble()) else {})},
        )
        interval = svc.settings.bus.heartbeat_interval_s
        try:
            await write_heartbeat(svc.redis, svc.keys, beat, ttl_s=interval * 3)
        except (RedisError, OSError):
            svc.redis_ok = False
            raise
        svc.redis_ok = True
