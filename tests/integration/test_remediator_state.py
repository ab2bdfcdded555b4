"""The remediator's shared state on a real Redis, as two replicas would see it: one turn at a time per run, the
rate-limit reservation, target locks that only their owner renews or releases, the kill switch, track records."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from healer_common.settings import Settings
from healer_common.testing import eventually
from services.remediator.adapters.learning import TrackRecord
from services.remediator.adapters.limit_store import LimitStore
from services.remediator.adapters.runs import RunBusy, RunStore
from services.remediator.adapters.switches import Switches
from services.remediator.breaker import RunOutcome
from tests.support.samples import T0, alert, incident, pod

pytestmark = pytest.mark.integration


@pytest.fixture
def keys(healer_settings: Settings) -> KeySpace:
    return KeySpace(healer_settings.redis.key_prefix)


async def test_a_second_turn_on_a_run_waits_for_the_first_and_gives_up_when_told_not_to_wait(
    redis: Redis, keys: KeySpace
) -> None:
    runs = RunStore(redis, keys)
    order: list[str] = []
    entered, release = asyncio.Event(), asyncio.Event()

    async def first_turn() -> None:
        async with runs.turn("run-1"):
            order.append("first in")
            entered.set()
            await release.wait()
            order.append("first out")

    async def second_turn() -> None:
        async with runs.turn("run-1", wait_s=30.0):
            order.append("second in")

    first = asyncio.create_task(first_turn())
    await entered.wait()
    with pytest.raises(RunBusy):
        async with runs.turn("run-1", wait_s=0.0):
            order.append("a busy run let a second one in")  # never: the final order shows it
    second = asyncio.create_task(second_turn())
    release.set()
    await asyncio.gather(first, second)

    assert order == ["first in", "first out", "second in"]


async def test_the_rate_limit_reservation_counts_this_action_and_forgets_a_released_one(
    redis: Redis, keys: KeySpace
) -> None:
    limits = LimitStore(redis, keys)

    assert len(await limits.reserve_action("a", T0, 3600)) == 1
    assert len(await limits.reserve_action("b", T0 + dt.timedelta(seconds=1), 3600)) == 2
    await limits.release_action("b")
    later = await limits.reserve_action("c", T0 + dt.timedelta(seconds=4000), 3600)
    assert len(later) == 1, "'a' fell out of the window, 'b' was released"


async def test_a_target_lock_belongs_to_one_run_until_it_is_released_or_expires(redis: Redis, keys: KeySpace) -> None:
    limits = LimitStore(redis, keys)

    assert await limits.lock_target("Deployment/cto/rex", "run-1", ttl_s=0.5) is None
    assert await limits.lock_target("Deployment/cto/rex", "run-2", ttl_s=0.5) == "run-1"
    assert not await limits.renew_lock("Deployment/cto/rex", "run-2", ttl_s=5), "only the owner renews"
    await limits.release_lock("Deployment/cto/rex", "run-2")
    assert await limits.lock_target("Deployment/cto/rex", "run-2", ttl_s=0.5) == "run-1", "only the owner releases"

    async def taken_by_run_2() -> bool:
        return await limits.lock_target("Deployment/cto/rex", "run-2", ttl_s=5) is None

    await eventually(taken_by_run_2, what="the lapsed lock taken by run-2")


async def test_the_cooldown_mark_lasts_as_long_as_the_cooldown(redis: Redis, keys: KeySpace) -> None:
    limits = LimitStore(redis, keys)

    await limits.mark_acted("Pod/cto/rex-1", T0, cooldown_s=0.3)
    assert await limits.last_acted("Pod/cto/rex-1") == T0

    async def cooled_down() -> bool:
        return await limits.last_acted("Pod/cto/rex-1") is None

    await eventually(cooled_down, what="the cooldown's end")


async def test_the_kill_switch_is_shared_and_says_who_threw_it(redis: Redis, keys: KeySpace) -> None:
    one, other = Switches(redis, keys), Switches(redis, keys)

    await one.pause("ops", "maintenance", T0)
    paused = await other.paused()
    assert paused is not None
    assert str(paused) == "paused by ops at 2026-01-05 09:00:00Z: maintenance (`healer resume` lifts it)"
    assert await other.resume() == paused
    assert await one.paused() is None


async def test_outcomes_and_track_records_add_up(redis: Redis, keys: KeySpace) -> None:
    switches, track = Switches(redis, keys), TrackRecord(redis, keys)
    for ok in (True, False, True):
        await switches.record_outcome(RunOutcome(T0, ok))
        await track.record("oom-restart-then-scale", ok)

    assert [o.succeeded for o in await switches.outcomes()] == [True, False, True][::-1]
    record = await track.of("oom-restart-then-scale")
    assert (record.successes, record.failures) == (2, 1)
    assert await track.all() == {"oom-restart-then-scale": record}


async def test_a_deferred_incident_keeps_its_latest_revision_and_a_resolved_one_is_not_looked_at_again(
    redis: Redis, keys: KeySpace
) -> None:
    """An incident waiting for its condition to have lasted is looked at again with the newest revision seen
    meanwhile; one that resolved meanwhile is not looked at again; one that was never deferred is not kept."""
    runs = RunStore(redis, keys)
    waiting = incident(alert("H8", resource=pod("a"))).evolve(incident_id="inc-waiting")
    resolving = incident(alert("H8", resource=pod("b"))).evolve(incident_id="inc-resolving")
    passing = incident(alert("H8", resource=pod("c"))).evolve(incident_id="inc-passing")
    await runs.defer(waiting, T0)
    await runs.defer(resolving, T0)

    newer = waiting.evolve(revision=3, title="newer")
    await runs.revised([newer, resolving.evolve(state="resolved", revision=2), passing])
    due = await runs.deferred_due(T0 + dt.timedelta(seconds=1))

    assert [(i.incident_id, i.revision, i.title) for i in due] == [("inc-waiting", 3, "newer")]
