"""A lease held for a block of work on a real Redis (runtime/leadership.py's `Leases.held`, the correlator's
per-cluster lease and the notifier's per-incident ones): renewed while its work runs, so work longer than the
TTL keeps it; confirmed with Redis by a holder past its local deadline; and fenced, so a holder that stalled
past its TTL and lost the lease to another writes nothing and refuses to publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from redis.asyncio import Redis

from healer_common.errors import Retryable
from healer_common.runtime.leadership import LeaseLost, Leases, Term
from healer_common.runtime.state import KeySpace
from healer_common.settings import Settings

pytestmark = pytest.mark.integration
TTL_S = 0.6


def leases(redis: Redis, settings: Settings, holder: str) -> Leases:
    return Leases(redis, KeySpace(settings.redis.key_prefix), holder)


NAME = "correlator/cluster/prod"


async def test_work_longer_than_the_ttl_keeps_the_lease_while_it_runs(redis: Redis, healer_settings: Settings) -> None:
    first, second = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    key = KeySpace(healer_settings.redis.key_prefix)("test", "state")

    async with first.held(NAME, TTL_S, wait_s=0.2) as lease:
        await asyncio.sleep(TTL_S * 3)
        with pytest.raises(Retryable, match="held by"):
            async with second.held(NAME, TTL_S, wait_s=0.2):
                pytest.fail("a second holder got the lease while the first still worked under it")
        await first.confirm(lease)
        await first.fenced(lease, [("SET", key, "written by a")])

    assert await redis.get(key) == "written by a"
    async with second.held(NAME, TTL_S, wait_s=0.2) as taken:
        assert taken.token == lease.token + 1, "released at the end, and the next holder's token is the next one"


async def test_a_holder_that_stalled_but_still_holds_the_lease_goes_on(redis: Redis, healer_settings: Settings) -> None:
    first = leases(redis, healer_settings, "a")

    async with first.held(NAME, TTL_S, wait_s=0.2) as stalled:
        time.sleep(TTL_S * 0.9)  # noqa: ASYNC251 - a stall shorter than the TTL, longer than the safety margin
        assert not stalled.valid()
        await first.confirm(stalled)  # Redis says it is still ours: renewed

        assert stalled.valid()


async def test_a_holder_that_stalled_past_its_ttl_writes_nothing_and_publishes_nothing(
    redis: Redis, healer_settings: Settings
) -> None:
    first, second = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    key = KeySpace(healer_settings.redis.key_prefix)("test", "state")

    async with first.held(NAME, TTL_S, wait_s=0.2) as stalled:
        time.sleep(TTL_S * 1.5)  # noqa: ASYNC251 - the stall itself: the event loop (and renewal) stops
        async with second.held(NAME, TTL_S, wait_s=0.2) as taken:
            await second.fenced(taken, [("SET", key, "written by b")])
            with pytest.raises(LeaseLost):
                await first.confirm(stalled)
            with pytest.raises(LeaseLost):
                stalled.check()
            stalled.valid_until = time.monotonic() + TTL_S  # as if its clock still said so: Redis refuses
            with pytest.raises(LeaseLost, match="nothing written"):
                await first.fenced(stalled, [("SET", key, "written by a")])

    assert taken.token > stalled.token
    assert await redis.get(key) == "written by b"


async def test_a_renewal_that_swallows_its_cancellation_does_not_hold_the_work(
    redis: Redis, healer_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = leases(redis, healer_settings, "a")
    renewing = asyncio.Event()

    async def swallowing(term: Term) -> bool:  # as a Redis call under 3.11's wait_for can
        del term
        renewing.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        return True

    monkeypatch.setattr(first, "renew", swallowing)
    async with asyncio.timeout(TTL_S * 4):
        async with first.held(NAME, TTL_S, wait_s=0.2):
            await renewing.wait()  # the work ends while a renewal is in flight

    async with leases(redis, healer_settings, "b").held(NAME, TTL_S, wait_s=0.2) as taken:
        assert taken.value.endswith(":b"), "released when the work ended"


async def test_a_batch_takes_the_free_leases_without_waiting_and_keeps_them_while_it_works(
    redis: Redis, healer_settings: Settings
) -> None:
    batch, single = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    names = [f"notifier/incident/i-{n}" for n in range(3)]

    async with single.held(names[1], TTL_S, wait_s=0.2) as elsewhere:
        async with asyncio.timeout(TTL_S / 2), batch.held_many(names, TTL_S) as terms:
            assert sorted(terms) == [names[0], names[2]], "the one held elsewhere is left to its holder"
        async with batch.held_many(names, TTL_S) as terms:
            await asyncio.sleep(TTL_S * 3)
            for term in terms.values():
                term.check()  # renewed through work three TTLs long
            assert (await batch.holders(names)) == {names[0]: "a", names[1]: "b", names[2]: "a"}
        elsewhere.check()

    assert (await batch.holders(names)) == dict.fromkeys(names), "every lease released after its block"


async def test_a_batch_that_stalled_past_its_ttl_acts_under_none_of_its_leases(
    redis: Redis, healer_settings: Settings
) -> None:
    batch, other = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    names = [f"notifier/incident/i-{n}" for n in range(3)]

    async with batch.held_many(names, TTL_S) as stalled:
        time.sleep(TTL_S * 1.5)  # noqa: ASYNC251 - the stall: the event loop (and renewal) stops
        async with other.held_many(names, TTL_S) as taken:
            assert sorted(taken) == names
            for term in stalled.values():
                with pytest.raises(LeaseLost):
                    term.check()
                with pytest.raises(LeaseLost):
                    await batch.confirm(term)


async def test_tasks_of_one_process_take_a_lease_in_turn_and_leave_nothing_behind(
    redis: Redis, healer_settings: Settings
) -> None:
    one = leases(redis, healer_settings, "a")
    tokens: list[int] = []

    async def work(name: str) -> None:
        async with one.held(name, TTL_S, wait_s=TTL_S * 4) as term:
            tokens.extend([term.token] if name == NAME else [])
            await asyncio.sleep(TTL_S / 2)

    await asyncio.gather(*(work(NAME) for _ in range(3)), *(work(f"remediator/run/r-{n}") for n in range(50)))

    assert tokens == list(range(tokens[0], tokens[0] + 3)), "each took it after the one before let go"
    assert not one._local, "no lock kept for names nobody wants any more (runs, incidents)"
