"""Leases for work that must run in one place at a time, and the fencing that keeps a stalled holder harmless.

    leases = Leases(redis, keys, holder=svc.instance)
    term = await leases.acquire("collector/cluster/prod", ttl_s=10)    # None while someone else holds it
    term.check()                                                          # before anything leaves the process
    await leases.fenced(term, [("SET", key, value)])                     # applied only while the lease is ours

Used for a replica's campaign for a role (`Leadership`, below: a cluster's watches, the notifier's timers,
the sleep-time analysis) and for the partitions of the detector's input (partitioned.py). In Redis:

    <prefix>:lease:<name>   "<token>:<holder>" with an expiry (PX); whoever finds it free takes it (Lua, atomic)
    <prefix>:fence:<name>   the last token given out (INCR at each acquisition), so tokens only grow

A holder's `Term` knows until when, by its own monotonic clock, the lease is surely still its own: the last
successful renewal's request time plus the TTL, less a safety margin for the round trip and clock drift. Two
guards keep a holder that lost its lease (stopped with SIGSTOP, paused, cut off from Redis past the TTL) from
acting once another holds it:

    term.check()            before every side effect that leaves the process (a publish, a call out); raises
                            LeaseLost once the term may have ended. A monotonic clock runs on while a process
                            is stopped, so a stalled holder that wakes up finds its term over.
    Leases.confirm(term)    the same, for work that would rather ask than give up: past the local deadline (a
                            renewal could not run: the process was starved of CPU, or Redis unreachable) it asks
                            Redis, and renews the lease if it still holds this token, or raises LeaseLost.
    Leases.fenced(term, …)  Redis writes applied in one Lua script only if the lease still holds this token.

Each acquisition takes a new token, so a holder whose token is one more than the last it held knows nobody held
the lease in between (the correlator keeps its view of a cluster on that). `held` and `held_many` renew what
they hold every third of the TTL while their block runs: the correlator's per-cluster lease, the notifier's
per-incident ones (a batch takes those that are free without waiting, `held_many`).

LeaseLost is Retryable: the work is given back and done by whoever holds the lease next. Healer writes no
consensus of its own: Redis decides who holds a lease, and its expiry hands it on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from healer_common.errors import Retryable
from healer_common.logging import get_logger
from healer_common.runtime.state import KeySpace

if TYPE_CHECKING:
    from healer_common.runtime.bus import Service

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

Command = tuple[str | bytes | int | float, ...]


class LeaseLost(Retryable):
    """The lease lapsed or another holder has it: what this holder was doing must be done again by the next."""


class LeaseHeld(Retryable):
    """Someone else holds the lease and did not let go in time: try again later."""


ACTING_UNDER: contextvars.ContextVar[Term | None] = contextvars.ContextVar("healer_acting_under", default=None)
"""The lease the work in hand runs under (set by `Leases.held`), for code deep down that acts on the world."""


def check_acting() -> None:
    """Raise LeaseLost when the work in hand runs under a lease that may have ended: the last check before a
    side effect (an action on the cluster), wherever it is."""
    if (term := ACTING_UNDER.get()) is not None:
        term.check()


@dataclass
class Term:
    """One holding of a lease: its fencing token, and until when (monotonic seconds) it is surely ours."""

    name: str
    token: int
    holder: str
    ttl_s: float
    valid_until: float

    @property
    def value(self) -> str:
        return f"{self.token}:{self.holder}"

    def valid(self) -> bool:
        return time.monotonic() < self.valid_until

    def check(self) -> None:
        if not self.valid():
            raise LeaseLost(f"the lease on {self.name} may have lapsed (token {self.token}); not acting", delay=1.0)

    def end(self) -> None:
        self.valid_until = 0.0


class Leases:
    """Acquire, renew, release and fence leases in one Redis; `holder` names this process in them."""

    def __init__(self, redis: Redis, keys: KeySpace, holder: str) -> None:
        self.redis = redis
        self.keys = keys
        self.holder = holder
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._fenced = redis.register_script(_FENCED)
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}  # name -> its lock and the tasks that want it

    def key(self, name: str) -> str:
        return self.keys("lease", name)

    async def acquire(self, name: str, ttl_s: float) -> Term | None:
        """The lease on `name` if it is free (a new, larger token), else None."""
        asked = time.monotonic()
        ttl_ms = max(100, int(ttl_s * 1000))
        token = await self._acquire(keys=[self.key(name), self.keys("fence", name)], args=[self.holder, ttl_ms])
        if token is None:
            return None
        return Term(name, int(token), self.holder, ttl_s, asked + ttl_s * (1 - SAFETY))

    async def acquire_many(self, names: Iterable[str], ttl_s: float) -> dict[str, Term]:
        """The leases of those of `names` that are free now, in one round trip: {name: term} of those taken."""
        wanted = sorted(set(names))
        if not wanted:
            return {}
        asked = time.monotonic()
        ttl_ms = max(100, int(ttl_s * 1000))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in wanted:
                keys = [self.key(name), self.keys("fence", name)]
                await self._acquire(keys=keys, args=[self.holder, ttl_ms], client=pipe)
            tokens = await pipe.execute()
        until = asked + ttl_s * (1 - SAFETY)
        return {n: Term(n, int(t), self.holder, ttl_s, until) for n, t in zip(wanted, tokens, strict=True) if t}

    async def renew(self, term: Term) -> bool:
        """Extend the term by a TTL from now; False (and the term ended) when the lease is no longer ours."""
        asked = time.monotonic()
        renewed = await self._renew(keys=[self.key(term.name)], args=[term.value, max(100, int(term.ttl_s * 1000))])
        if not renewed:
            term.end()
            return False
        term.valid_until = max(term.valid_until, asked + term.ttl_s * (1 - SAFETY))
        return True

    async def confirm(self, term: Term) -> None:
        """Pass while the term is surely ours by the local clock; past that, ask Redis: renewed if the lease still
        holds this token (a stall shorter than the TTL costs nothing), LeaseLost if not."""
        if not term.valid() and not await self.renew(term):
            raise LeaseLost(f"the lease on {term.name} was lost (token {term.token}); not acting", delay=1.0)

    async def release(self, term: Term) -> None:
        """Give the lease up now (if it is still ours), so a successor need not wait for it to lapse."""
        await self.release_many([term])

    async def release_many(self, terms: list[Term]) -> None:
        """`release` each, in one round trip (a batch's hundreds of leases)."""
        for term in terms:
            term.end()
        with contextlib.suppress(RedisError, OSError):
            async with self.redis.pipeline(transaction=False) as pipe:
                for term in terms:
                    await self._release(keys=[self.key(term.name)], args=[term.value], client=pipe)
                await pipe.execute()

    @contextlib.asynccontextmanager
    async def held(self, name: str, ttl_s: float, *, wait_s: float) -> AsyncIterator[Term]:
        """Hold the lease on `name` for the block, renewed every third of the TTL while the block runs, and
        released after it; LeaseHeld when someone else (another task of this process included) holds it for
        longer than `wait_s`. What the block does outside the process is checked against the term
        (`term.check()`): a block that outlives its lease (the process stalled past the TTL) acts no more."""
        deadline = time.monotonic() + wait_s
        async with self._in_process(name, wait_s):
            while (term := await self.acquire(name, ttl_s)) is None:
                if time.monotonic() > deadline:
                    holder = (await self.holders([name]))[name] or "someone"
                    raise LeaseHeld(f"{name} is held by {holder}; trying again later", delay=1.0)
                await asyncio.sleep(POLL_S)
            async with self._renewed([term], ttl_s):
                acting = ACTING_UNDER.set(term)
                try:
                    yield term
                finally:
                    ACTING_UNDER.reset(acting)

    @contextlib.asynccontextmanager
    async def _in_process(self, name: str, wait_s: float) -> AsyncIterator[None]:
        """One task of this process at a time for `name` (the others wait here rather than poll Redis); the lock
        is dropped when no task wants it, so names used once (an incident, a run) do not pile up."""
        lock, users = self._local.get(name, (asyncio.Lock(), 0))
        self._local[name] = (lock, users + 1)
        try:
            async with asyncio.timeout(wait_s):
                await lock.acquire()
        except TimeoutError:
            raise LeaseHeld(f"{name} is held by this process; trying again later", delay=1.0) from None
        else:
            try:
                yield
            finally:
                lock.release()
        finally:
            lock, users = self._local[name]
            if users == 1:
                del self._local[name]
            else:
                self._local[name] = (lock, users - 1)

    @contextlib.asynccontextmanager
    async def held_many(self, names: Iterable[str], ttl_s: float) -> AsyncIterator[dict[str, Term]]:
        """Hold those of `names` that are free now, without waiting ({name: term}; the others are someone
        else's for now), renewed together while the block runs and released after it. A batch's leases: each
        of its side effects is checked against its own term."""
        terms = await self.acquire_many(names, ttl_s)
        async with self._renewed(list(terms.values()), ttl_s):
            yield terms

    @contextlib.asynccontextmanager
    async def _renewed(self, terms: list[Term], ttl_s: float) -> AsyncIterator[None]:
        stopped = asyncio.Event()
        renewing = asyncio.create_task(self._keep(terms, ttl_s, stopped))
        try:
            yield
        finally:
            stopped.set()
            renewing.cancel()
            # Bounded: a cancellation swallowed inside a Redis call (3.11's wait_for can) must not hold the
            # leases, and the work waiting for them, forever; the renewal loop also ends on `stopped`.
            await asyncio.wait({renewing}, timeout=ttl_s)
            if renewing.done() and not renewing.cancelled():
                renewing.exception()  # retrieved, so an unexpected one is not reported as never retrieved
            await self.release_many(terms)

    async def _keep(self, terms: list[Term], ttl_s: float, stopped: asyncio.Event) -> None:
        """Renew every third of the TTL until the work ends; a renewal that finds a lease gone drops it. One
        that fails (Redis unreachable) is tried again: the local deadline runs on, and `confirm` asks Redis."""
        while not stopped.is_set() and (terms := [t for t in terms if t.valid_until > 0]):
            await asyncio.sleep(ttl_s / 3)
            for term in terms:
                if stopped.is_set():
                    return
                with contextlib.suppress(RedisError, OSError):
                    await self.renew(term)

    async def holders(self, names: Sequence[str]) -> dict[str, str | None]:
        """Who holds each lease now (the holder part of its value), None where it is free."""
        if not names:
            return {}
        values = await self.redis.mget([self.key(n) for n in names])
        return {n: (str(v).partition(":")[2] or None) if v else None for n, v in zip(names, values, strict=True)}

    async def fenced(self, term: Term, commands: Sequence[Command], redis: Redis | None = None) -> None:
        """Apply `commands` atomically, only while the lease holds this term's token; LeaseLost otherwise.

        `redis` is another client of the same server (one that keeps bytes as bytes, say) to run them on."""
        term.check()
        args: list[Any] = [term.value]
        for command in commands:
            args += [len(command), *command]
        script = self._fenced if redis is None else redis.register_script(_FENCED)
        try:
            await script(keys=[self.key(term.name)], args=args)
        except ResponseError as exc:
            if "LEASE_LOST" in str(exc):
                term.end()
                raise LeaseLost(f"the lease on {term.name} was lost (token {term.token}); nothing written") from None
            raise


Hook = Callable[[Term], Awaitable[None]]


class Leadership:
    """A replica's campaign for one role: it leads while it holds the role's lease.

    `step` (every third of the TTL) takes the lease when it is free, renews it while held, and steps down when
    a renewal finds it gone or the term ran out (a stall longer than the TTL). `on_elected` runs when the
    replica becomes the leader, `on_deposed` when it stops being one (also at `resign`, on shutdown). Whatever
    the role does checks `check()` before it acts, which is what makes a stalled leader that wakes up harmless.
    """

    def __init__(
        self,
        leases: Leases,
        role: str,
        ttl_s: float,
        *,
        on_elected: Hook | None = None,
        on_deposed: Hook | None = None,
    ) -> None:
        self.leases = leases
        self.role = role
        self.ttl_s = ttl_s
        self.term: Term | None = None
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._log = get_logger().bind(role=role)

    @property
    def leading(self) -> bool:
        return self.term is not None and self.term.valid()

    def check(self) -> Term:
        """The current term; LeaseLost when this replica does not (surely) lead."""
        if self.term is None:
            raise LeaseLost(f"not the leader of {self.role}", delay=1.0)
        self.term.check()
        return self.term

    async def step(self) -> None:
        term = self.term
        if term is None:
            if (term := await self.leases.acquire(self.role, self.ttl_s)) is not None:
                self.term = term
                self._log.info("elected", fence=term.token)
                if self._on_elected is not None:
                    await self._on_elected(term)
            return
        try:
            renewed = await self.leases.renew(term)
        except (RedisError, OSError) as exc:  # the term runs on by the local clock; past it, step down
            left = round(term.valid_until - time.monotonic(), 2)
            self._log.warning("lease_renewal_failed", error=repr(exc), valid_for_s=left)
            renewed = term.valid()
        if not renewed or not term.valid():
            await self._step_down(term, "lease lost")

    async def resign(self) -> None:
        if self.term is not None:
            term = self.term
            await self._step_down(term, "resigned")
            await self.leases.release(term)

    async def _step_down(self, term: Term, why: str) -> None:
        term.end()
        self.term = None
        self._log.warning("deposed", fence=term.token, why=why)
        if self._on_deposed is not None:
            await self._on_deposed(term)


def elect(svc: Service, role: str, *, on_elected: Hook | None = None, on_deposed: Hook | None = None) -> Leadership:
    """Campaign for `role` while the service runs (a step every third of the lease TTL), resign on shutdown;
    the roles a replica leads are in its heartbeat (`healer status`)."""

    async def elected(term: Term) -> None:
        svc.detail[f"leads {role}"] = f"token {term.token}"
        if on_elected is not None:
            await on_elected(term)

    async def deposed(term: Term) -> None:
        svc.detail.pop(f"leads {role}", None)
        if on_deposed is not None:
            await on_deposed(term)

    ttl_s = svc.settings.scale.lease_ttl_s
    leases = Leases(svc.redis, svc.keys, svc.instance)
    leadership = Leadership(leases, role, ttl_s, on_elected=elected, on_deposed=deposed)
    svc.every(ttl_s / 3)(leadership.step)
    svc.on_stop(leadership.resign)
    return leadership
