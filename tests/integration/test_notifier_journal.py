"""The digest's journal against a real Redis: the latest revision of each incident, and each alert as it was
first seen (a later revision that changed it does not rewrite it), predictions apart from real alerts."""

from __future__ import annotations

import datetime as dt

import pytest
from redis.asyncio import Redis

from healer_common.runtime.state import KeySpace
from healer_common.settings import Settings
from services.notifier.adapters.journal import Journal
from tests.support.samples import T0, alert, incident, pod

pytestmark = pytest.mark.integration


async def test_each_alert_is_kept_as_first_seen_and_each_incident_as_last_revised(
    redis: Redis, healer_settings: Settings
) -> None:
    journal = Journal(redis, KeySpace(healer_settings.redis.key_prefix))
    oom = alert("H8", resource=pod("rex-1"), starts_at=T0)
    first = incident(oom)
    later = T0 + dt.timedelta(minutes=5)
    resolved = oom.evolve(status="resolved", ends_at=later)
    joined = alert("H8", resource=pod("rex-2"), starts_at=later)
    second = incident(resolved, joined, state="updated", revision=2).evolve(time=later)
    second = second.evolve(changed=[a.fingerprint for a in second.alerts])
    predicted = incident(alert("H3", resource=pod("rex-3"), starts_at=T0)).evolve(incident_id="inc-2")
    predicted = predicted.evolve(alerts=[predicted.alerts[0].model_copy(update={"labels": {"predicted": "true"}})])

    await journal.record_incidents([first, predicted])
    await journal.record_incidents([second])
    day = await journal.between(T0 - dt.timedelta(hours=1), T0 + dt.timedelta(hours=1))

    assert {i.incident_id: i.revision for i in day.incidents} == {"inc-1": 2, "inc-2": 1}
    fired = {a.fingerprint: a.status for a in day.fired}
    assert fired == {oom.fingerprint: "firing", joined.fingerprint: "firing"}, "rex-1 as first seen, firing"
    assert [a.fingerprint for a in day.predicted] == [predicted.alerts[0].fingerprint]
