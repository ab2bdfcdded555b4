"""At-least-once delivery and restarts never split or reopen incidents: a firing alert replayed after its
resolution (past the stream's duplicate window) is stale, and a restarted correlator goes on with the
incidents it left open in Redis."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, consumer_drained, eventually, recording
from tests.support.correlator_bus import incident_where, revisions
from tests.support.correlator_samples import node_alert, pod_alert, resolved

pytestmark = pytest.mark.integration


async def test_a_firing_alert_replayed_after_its_resolution_does_not_reopen_the_incident(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("correlator")
    await services.wait_running()
    firing = pod_alert("rex-1", node="worker-1", starts_at=dt.datetime.now(dt.UTC))
    async with recording(bus, bus.space.all_incidents) as seen:
        await bus.publish(firing)
        await bus.publish(resolved(firing, dt.datetime.now(dt.UTC)))
        await seen.wait_for(incident_where(lambda i: i["state"] == "resolved"), what="the incident resolved")
        await bus.publish(firing.evolve(event_id="replayed-after-the-duplicate-window"))
        await bus.publish(firing.evolve(event_id="and-again"))
        await eventually(lambda: consumer_drained(bus, CORRELATOR_ALERTS), what="correlator drained")

    assert [r["state"] for r in revisions(seen)] == ["opened", "resolved"]


async def test_a_restarted_correlator_adds_to_the_incident_it_left_open(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("correlator")
    await services.wait_running()
    now = dt.datetime.now(dt.UTC)
    async with recording(bus, bus.space.all_incidents) as seen:
        await bus.publish(node_alert("worker-4", starts_at=now))
        opened = await seen.wait_for(incident_where(lambda i: i["state"] == "opened"), what="incident opened")
        assert services.stop("correlator") == 0
        await bus.publish(pod_alert("agent-1", namespace="play", node="worker-4", starts_at=now))
        services.start("correlator")
        updated = await seen.wait_for(incident_where(lambda i: i["revision"] == 2), timeout=60, what="revision 2")

    assert json.loads(updated.data)["incident_id"] == json.loads(opened.data)["incident_id"]
    assert len(json.loads(updated.data)["alerts"]) == 2
