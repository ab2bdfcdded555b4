"""Leases in Redis: one holder at a time for a name, renewed while its work runs, and fenced.

    leases = Leases(redis, keys, holder="correlator-host-42", ttl_s=10.0)
    async with leases.held("cluster/prod") as lease:
        ...                                  # read, decide
        await lease.confirm()                # before anything leaves the process (a publish)
        await lease.write([("HSET", key, field, value), ...])   # applied only while the lease is ours

A lease is `<prefix>:lease:<name>` = "<token>:<holder>" with an expiry. Each acquisition takes a new token from
`<prefix>:fence:<name>` (INCR), so tokens only grow: a holder that learns its token is one more than the last it
held knows nobody held the lease in between (the correlator keeps its cache on that).

While `held` runs, a task renews the lease every third of its TTL. Two guards make a holder that lost it (a
stalled process, Redis unreachable for longer than the TTL) harmless:

- `write` applies its commands in one Lua script only if the lease still holds this token (fencing): a
  late writer is refused with `LeaseLost` and nothing is changed;
- `confirm` passes while the lease holds by the holder's own clock (the last successful renewal's request
  time + TTL, less a safety margin); past that (a renewal could not run: the process was starved of CPU, or
  Redis was unreachable) it asks Redis, and renews the lease if it is still this holder's token, or refuses,
  so nothing is published after another may have taken over.

`LeaseLost` is Retryable: the work is given back (a message nak'ed) and done again by whoever holds it next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from healer_common.errors import Retryable
from healer_common.runtime.state import KeySpace

SAFETY = 0.2
"""The share of the TTL a holder gives up early, for the time a renewal takes and clocks that drift."""
POLL_S = 0.02

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return token
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_FENCED = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('LEASE_LOST') end
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call(unpack(ARGV, i + 1, i + n))
  i = i + n + 1
end
return 1
"""

Command = tuple[str, ...]


class LeaseLost(Retryable):
    """The lease lapsed or another holder has it: what this holder was doing must be done again."""


@dataclass
class Lease:
    name: str
    key: str
    token: int
    value: str
    ttl_s: float
    valid_until: float
    _leases: Leases

    def valid(self) -> bool:
        return time.monotonic() < self.valid_until

    async def confirm(self) -> None:
        """Pass while the lease is this holder's; LeaseLost once it is not (see the module's docstring)."""
        if not self.valid():
            await self._leases.renew(self)

    async def write(self, commands: Sequence[Command]) -> None:
        """Apply `commands` atomically, only while this lease holds; LeaseLost (nothing applied) otherwise."""
        if commands:
            await self._leases.fenced(self, commands)


class Leases:
    def __init__(self, redis: Redis, keys: KeySpace, *, holder: str, ttl_s: float, wait_s: float | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._holder = holder
        self._ttl_ms = max(100, int(ttl_s * 1000))
        self._wait_s = ttl_s if wait_s is None else wait_s
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._fenced = redis.register_script(_FENCED)
        self._local: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def held(self, name: str) -> AsyncIterator[Lease]:
        """Hold the lease on `name` for the block, renewed meanwhile; Retryable if it stays taken `wait_s`."""
        async with self._local.setdefault(name, asyncio.Lock()):
            lease = await self._take(name)
            stopped = asyncio.Event()
            renewing = asyncio.create_task(self._keep(lease, stopped))
            try:
                yield lease
            finally:
                stopped.set()
                renewing.cancel()
                # Bounded: a cancellation swallowed inside a Redis call (3.11's wait_for can) must not hold the
                # lease, and the work waiting for it, forever; the renewal loop also ends on `stopped`.
                await asyncio.wait({renewing}, timeout=lease.ttl_s)
                if renewing.done() and not renewing.cancelled():
                    renewing.exception()  # retrieved, so an unexpected one is not reported as lost
                with contextlib.suppress(RedisError, OSError):
                    await self._release(keys=[lease.key], args=[lease.value])

    async def _take(self, name: str) -> Lease:
        key, fence = self._keys("lease", name), self._keys("fence", name)
        deadline = time.monotonic() + self._wait_s
        while True:
            asked = time.monotonic()
            token = await self._acquire(keys=[key, fence], args=[self._holder, self._ttl_ms])
            if token is not None:
                ttl_s = self._ttl_ms / 1000
                value = f"{token}:{self._holder}"
                return Lease(name, key, int(token), value, ttl_s, asked + ttl_s * (1 - SAFETY), self)
            if time.monotonic() > deadline:
                holder = str(await self._redis.get(key) or "someone")
                raise Retryable(f"the lease on {name} is held by {holder}; try again later", delay=1.0)
            await asyncio.sleep(POLL_S)

    async def _keep(self, lease: Lease, stopped: asyncio.Event) -> None:
        """Renew every third of the TTL while the work runs; a renewal that finds the lease gone ends it."""
        while not stopped.is_set():
            await asyncio.sleep(lease.ttl_s / 3)
            if stopped.is_set():
                return
            try:
                await self.renew(lease)
            except LeaseLost:
                return
            except (RedisError, OSError):
                continue  # the local deadline runs on; confirm() asks Redis once it passes

    async def renew(self, lease: Lease) -> None:
        """Extend the lease if it is still this holder's token; LeaseLost (and invalid from now on) if not."""
        asked = time.monotonic()
        if not await self._renew(keys=[lease.key], args=[lease.value, self._ttl_ms]):
            lease.valid_until = 0.0
            raise LeaseLost(f"the lease on {lease.name} was lost (token {lease.token}); not publishing", delay=1.0)
        lease.valid_until = asked + lease.ttl_s * (1 - SAFETY)

    async def fenced(self, lease: Lease, commands: Sequence[Command]) -> None:
        args: list[str | int] = [lease.value]
        for command in commands:
            args += [len(command), *command]
        try:
            await self._fenced(keys=[lease.key], args=args)
        except ResponseError as exc:
            if "LEASE_LOST" in str(exc):
                lease.valid_until = 0.0
                raise LeaseLost(f"the lease on {lease.name} was lost (token {lease.token}); nothing written") from None
            raise
