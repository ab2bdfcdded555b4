"""Parts of a stream shared out among a service's replicas: each part served by one replica at a time, which
holds its lease (leadership.py), and handed on when replicas come and go.

    parts = Partitioned(svc, stream=streams.EVENTS, parts={"0": subject_of_part_0, ...}, build=...)
    parts.install()

Every third of the lease TTL each replica takes a step:

    1. renews the leases of the parts it serves; a part whose lease it lost stops at once, saving nothing
    2. reads which replicas of the service are alive (their heartbeats, fresh within two intervals) and
       computes the plan (partitions.assignment: parts dealt out in turn, the same plan in every replica)
    3. hands over, gracefully, a part the plan gives to another live replica (checkpoint saved, lease released)
    4. takes a free part the plan gives it, or any part left free for two steps (its planned replica is gone
       or stalled: serving it comes first, the plan gives it back once that replica is alive again)

So a replica that dies (or stops, SIGSTOP) loses its parts once their leases lapse, about `scale.lease_ttl_s`,
and the others resume them from their checkpoints; a replica that joins gets its share handed over with
checkpoints saved at the hand-over, so nothing is replayed. Serving one part is partition_worker.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

from redis.exceptions import RedisError

from healer_common.contract.partitions import assignment
from healer_common.contract.streams import StreamSpec
from healer_common.runtime.bus import Service
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.leadership import Leases
from healer_common.runtime.partition_worker import Build, Checkpoints, PartWorker
from healer_common.runtime.state import connect_redis

HANDOVER_S = 15.0


class Partitioned:
    def __init__(self, svc: Service, *, stream: StreamSpec, parts: dict[str, str], build: Build, tick_s: float) -> None:
        self.svc = svc
        self.parts = parts  # part name -> filter subject, in the order the plan deals them out
        self._stream = stream.name(svc.space)
        self._build = build
        self._tick_s = tick_s
        self.ttl_s = svc.settings.scale.lease_ttl_s
        self.leases = Leases(svc.redis, svc.keys, svc.instance)
        self._bytes = connect_redis(svc.settings, binary=True)
        self.checkpoints = Checkpoints(self._bytes, svc.keys, svc.name, self.leases)
        self.workers: dict[str, tuple[PartWorker, asyncio.Task[None]]] = {}
        self._free_since: dict[str, float] = {}
        self._stopping = False

    def install(self) -> None:
        self.svc.every(self.ttl_s / 3)(self.step)
        self.svc.on_stop(self.stop, first=True)
        self.svc.on_stop(self._bytes.aclose)

    def lease(self, part: str) -> str:
        return f"{self.svc.name}/partition/{part}"

    def serving(self) -> list[str]:
        return [p for p, (w, _) in self.workers.items() if w.serving]

    async def step(self) -> None:
        if self._stopping:
            return
        await self._renew()
        live = await self._live()
        plan = assignment(list(self.parts), live)
        holders = await self.leases.holders([self.lease(p) for p in self.parts])
        now = time.monotonic()
        for part in self.parts:
            if part in self.workers:
                if plan.get(part, self.svc.instance) != self.svc.instance:
                    self.workers[part][0].hand_over()
                continue
            if holders[self.lease(part)] is not None:
                self._free_since.pop(part, None)
                continue
            free_for = now - self._free_since.setdefault(part, now)
            if plan.get(part) == self.svc.instance or free_for >= 2 * self.ttl_s / 3:
                await self._take(part)

    async def _renew(self) -> None:
        for part, (worker, task) in list(self.workers.items()):
            if task.done():
                del self.workers[part]
                continue
            try:
                renewed = await self.leases.renew(worker.term)
            except (RedisError, OSError):
                renewed = worker.term.valid()  # the term runs on by the local clock; past it, the part stops
            if not renewed or not worker.term.valid():
                worker.term.end()
                self.svc.log.warning("partition_lost", partition=part, fence=worker.term.token)

    async def _live(self) -> list[str]:
        """This replica and every replica of the service that wrote a running heartbeat within two intervals."""
        interval = self.svc.settings.bus.heartbeat_interval_s
        now = dt.datetime.now(dt.UTC)
        beats = await read_heartbeats(self.svc.redis, self.svc.keys)
        fresh = {
            b.instance
            for b in beats
            if b.service == self.svc.name and b.state == "running" and (now - b.time).total_seconds() < 2 * interval
        }
        return sorted(fresh | {self.svc.instance})

    async def _take(self, part: str) -> None:
        term = await self.leases.acquire(self.lease(part), self.ttl_s)
        if term is None:
            return
        self._free_since.pop(part, None)
        worker = PartWorker(
            self.svc,
            stream=self._stream,
            part=part,
            subject=self.parts[part],
            term=term,
            build=self._build,
            checkpoints=self.checkpoints,
            tick_s=self._tick_s,
        )
        self.workers[part] = (worker, asyncio.create_task(self._serve(worker), name=f"partition-{part}"))

    async def _serve(self, worker: PartWorker) -> None:
        """Serve the part for this term; release its lease the moment the worker is done (handed over)."""
        try:
            await worker.run()
        finally:
            await self.leases.release(worker.term)

    async def stop(self) -> None:
        """Hand every part over (checkpoints saved, leases released) so the other replicas resume at once."""
        self._stopping = True
        for worker, _ in self.workers.values():
            worker.hand_over()
        tasks = [task for _, task in self.workers.values()]
        if tasks:
            _, hanging = await asyncio.wait(tasks, timeout=HANDOVER_S)
            for task in hanging:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self.workers.clear()
