"""H10, predicted issue, as an operator sees it: a remembered pattern of high salience plus matching current
conditions (an alert, a change, the time of week) raise one H10 with its prevention and confidence, which is
resolved when the prediction comes true (and the pattern is strengthened) or when its window passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from healer_common.clock import ManualClock
from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from healer_common.contract.memory import MemoryAdd, MemoryMetadata, MemoryPattern, PredictionRequest
from healer_common.settings import MemorySettings
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.foresight import Foresight
from services.memory_bridge.occurrences import Occurrence, from_alert
from services.memory_bridge.recent import RecentActivity
from tests.support.samples import T0, alert

MINUTE = 60.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)  # a Monday, 09:00 UTC


@pytest.fixture
async def foresight(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Foresight]:
    store = EmbeddedStore(tmp_path / "memory.sqlite3")
    settings = MemorySettings()
    bridge = MemoryBridge(store, clock, settings)
    yield Foresight(bridge, RecentActivity(settings.recent_window_s, clock.now()), settings, "default")
    await store.close()


async def learn(foresight: Foresight, pattern: MemoryPattern, salience: float, key: str = "p-1") -> str:
    item = MemoryAdd(
        event_id=key,
        content=f"{pattern.trigger or 'Monday 9 AM'} in {pattern.namespace} is followed by {pattern.predicts}",
        type="semantic",
        metadata=MemoryMetadata(alert_type=pattern.trigger, namespace=pattern.namespace, pattern=pattern),
        salience=salience,
        time=foresight.bridge.clock.now(),
    )
    return (await foresight.bridge.remember(item)).memory_id


A7_THEN_H6 = MemoryPattern(
    kind="correlation",
    trigger="A7",
    namespace="cto",
    predicts="H6",
    service="redis",
    probability=0.8,
    support=10,
    lag_s=300,
    prevention="raise the Redis connection limit before the agents retry",
)


def a7(namespace: str = "cto", at: dt.datetime = T0) -> Occurrence:
    return from_alert(alert("A7", namespace=namespace, starts_at=at))


def h6_on_redis(at: dt.datetime) -> Occurrence:
    redis = ResourceRef(kind="Pod", namespace="cto", name="redis-0")
    return from_alert(alert("H6", resource=redis, starts_at=at))


async def test_an_alert_that_starts_a_strong_pattern_raises_h10_with_prevention_and_confidence(
    foresight: Foresight,
) -> None:
    memory_id = await learn(foresight, A7_THEN_H6, salience=0.9)

    (h10,) = await foresight.observe(a7())

    assert isinstance(h10, Alert)
    assert (h10.alert_id, h10.status, h10.generator, h10.namespace) == ("H10", "firing", "memory-bridge", "cto")
    assert h10.predicted
    assert h10.labels["predicts"] == "H6"
    assert h10.annotations["prevention"] == "raise the Redis connection limit before the agents retry"
    assert h10.annotations["confidence"] == "0.80"
    assert h10.annotations["expected_at"] == (T0 + dt.timedelta(minutes=5)).isoformat()
    assert "database health" in h10.annotations["summary"]
    assert [(e.kind, e.ref) for e in h10.evidence] == [("memory", memory_id)]


async def test_a_pattern_of_ordinary_salience_predicts_nothing(foresight: Foresight) -> None:
    await learn(foresight, A7_THEN_H6, salience=0.6)

    assert await foresight.observe(a7()) == []


async def test_the_same_alert_in_another_namespace_predicts_nothing(foresight: Foresight) -> None:
    await learn(foresight, A7_THEN_H6, salience=0.9)

    assert await foresight.observe(a7(namespace="staging")) == []


async def test_a_prediction_is_raised_once_while_it_stands(foresight: Foresight, clock: ManualClock) -> None:
    await learn(foresight, A7_THEN_H6, salience=0.9)
    assert len(await foresight.observe(a7())) == 1

    clock.advance(MINUTE)
    again = await foresight.observe(a7(at=clock.now()))

    assert again == []
    assert await foresight.tick() == []


async def test_a_prediction_that_comes_true_is_resolved_and_strengthens_its_pattern(
    foresight: Foresight, clock: ManualClock
) -> None:
    memory_id = await learn(foresight, A7_THEN_H6, salience=0.85)
    await foresight.observe(a7())
    clock.advance(4 * MINUTE)

    (done,) = await foresight.observe(h6_on_redis(clock.now()))

    assert (done.alert_id, done.status, done.annotations["outcome"]) == ("H10", "resolved", "came true")
    (pattern, salience) = (await foresight.bridge.patterns(0.0))[0]
    assert pattern.memory_id == memory_id
    assert pattern.reinforcements == 1
    assert salience == pytest.approx(1.0, abs=1e-3)


async def test_a_prediction_whose_window_passes_is_resolved_as_not_happened_and_not_raised_again(
    foresight: Foresight, clock: ManualClock
) -> None:
    await learn(foresight, A7_THEN_H6, salience=0.9)
    (raised,) = await foresight.observe(a7())

    clock.advance(36 * MINUTE)  # expected at +5 min, plus the 30-minute window
    (lapsed,) = await foresight.tick()
    clock.advance(MINUTE)

    assert (lapsed.fingerprint, lapsed.status, lapsed.annotations["outcome"]) == (
        raised.fingerprint,
        "resolved",
        "did not happen",
    )
    assert await foresight.tick() == []


async def test_a_deploy_that_tends_to_break_things_raises_h10(foresight: Foresight, clock: ManualClock) -> None:
    deploys_break_pulls = MemoryPattern(
        kind="change", trigger="change:deploy", namespace="cto", predicts="H4", probability=0.7, lag_s=120
    )
    await learn(foresight, deploys_break_pulls, salience=0.9)
    deploy = Occurrence(clock.now(), "change:deploy", "default", "cto", "gateway", ref="c-1")

    (h10,) = await foresight.observe(deploy)

    assert h10.labels["predicts"] == "H4"


MONDAY_NINE = MemoryPattern(
    kind="temporal", namespace="cto", predicts="H7", weekday=0, hour=9, ratio=3.0, probability=0.9, p_value=0.001
)


async def test_a_weekly_pattern_raises_h10_within_the_lead_time_before_its_hour(
    foresight: Foresight, clock: ManualClock
) -> None:
    await learn(foresight, MONDAY_NINE, salience=0.9)

    clock.set(T0 - dt.timedelta(hours=2))  # Monday 07:00: too early
    assert await foresight.tick() == []
    clock.set(T0 - dt.timedelta(minutes=45))
    (h10,) = await foresight.tick()

    assert h10.labels["predicts"] == "H7"
    assert h10.annotations["expected_at"] == T0.isoformat()


async def test_a_weekly_pattern_stays_silent_on_other_days(foresight: Foresight, clock: ManualClock) -> None:
    await learn(foresight, MONDAY_NINE, salience=0.9)

    clock.set(T0 + dt.timedelta(days=1, minutes=-30))  # Tuesday 08:30

    assert await foresight.tick() == []


async def test_predict_for_a_namespace_lists_what_memory_expects_without_raising_it(
    foresight: Foresight, clock: ManualClock
) -> None:
    await learn(foresight, A7_THEN_H6, salience=0.9, key="p-1")
    await learn(foresight, MONDAY_NINE, salience=0.95, key="p-2")
    clock.set(T0 - dt.timedelta(minutes=30))
    foresight.recent.note(a7(at=clock.now()), clock.now())

    found = await foresight.predictions(PredictionRequest(namespace="cto"))
    elsewhere = await foresight.predictions(PredictionRequest(namespace="staging"))

    assert [p.predicts for p in found] == ["H7", "H6"]
    assert elsewhere == []
    assert foresight.open == {}
