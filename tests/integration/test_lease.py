"""The correlator's per-cluster lease on a real Redis (runtime/lease.py): renewed while its work runs, so work
longer than the TTL keeps it; and fenced, so a holder that stalled past its TTL and lost the lease to another
writes nothing and refuses to publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from healer_common.errors import Retryable
from healer_common.runtime.lease import Lease, LeaseLost, Leases
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings

pytestmark = pytest.mark.integration
TTL_S = 0.6


@pytest.fixture
async def redis(healer_settings: Settings) -> AsyncIterator[Redis]:
    client = connect_redis(healer_settings)
    yield client
    await client.aclose()


def leases(redis: Redis, settings: Settings, holder: str) -> Leases:
    return Leases(redis, KeySpace(settings.redis.key_prefix), holder=holder, ttl_s=TTL_S, wait_s=0.2)


async def test_work_longer_than_the_ttl_keeps_the_lease_while_it_runs(redis: Redis, healer_settings: Settings) -> None:
    first, second = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    key = KeySpace(healer_settings.redis.key_prefix)("test", "state")

    async with first.held("correlator:prod") as lease:
        await asyncio.sleep(TTL_S * 3)
        with pytest.raises(Retryable, match="held by"):
            async with second.held("correlator:prod"):
                pass
        await lease.confirm()
        await lease.write([("SET", key, "written by a")])

    assert await redis.get(key) == "written by a"
    async with second.held("correlator:prod") as taken:
        assert taken.token == lease.token + 1, "released at the end, and the next holder's token is the next one"


async def test_a_holder_that_stalled_but_still_holds_the_lease_goes_on(redis: Redis, healer_settings: Settings) -> None:
    first = leases(redis, healer_settings, "a")

    async with first.held("correlator:prod") as stalled:
        time.sleep(TTL_S * 0.9)  # noqa: ASYNC251 - a stall shorter than the TTL, longer than the safety margin
        assert not stalled.valid()
        await stalled.confirm()  # Redis says it is still ours: renewed

        assert stalled.valid()


async def test_a_holder_that_stalled_past_its_ttl_writes_nothing_and_publishes_nothing(
    redis: Redis, healer_settings: Settings
) -> None:
    first, second = leases(redis, healer_settings, "a"), leases(redis, healer_settings, "b")
    key = KeySpace(healer_settings.redis.key_prefix)("test", "state")

    async with first.held("correlator:prod") as stalled:
        time.sleep(TTL_S * 1.5)  # noqa: ASYNC251 - the stall itself: the event loop (and renewal) stops
        async with second.held("correlator:prod") as taken:
            await taken.write([("SET", key, "written by b")])
            with pytest.raises(LeaseLost):
                await stalled.confirm()
            with pytest.raises(LeaseLost, match="nothing written"):
                await stalled.write([("SET", key, "written by a")])

    assert taken.token > stalled.token
    assert await redis.get(key) == "written by b"


async def test_a_renewal_that_swallows_its_cancellation_does_not_hold_the_work(
    redis: Redis, healer_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = leases(redis, healer_settings, "a")
    renewing = asyncio.Event()

    async def swallowing(lease: Lease) -> None:  # as a Redis call under 3.11's wait_for can
        del lease
        renewing.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)

    monkeypatch.setattr(first, "renew", swallowing)
    async with asyncio.timeout(TTL_S * 4):
        async with first.held("correlator:prod"):
            await renewing.wait()  # the work ends while a renewal is in flight

    async with leases(redis, healer_settings, "b").held("correlator:prod") as taken:
        assert taken.value.endswith(":b"), "released when the work ended"
