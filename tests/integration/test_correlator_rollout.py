"""A rollout followed within minutes by errors on the same Deployment: the incident's top cause is the
rollout (a deployment-related regression), whichever of the change and the alerts the correlator hears of
first, and when staging is watched too the incident says how the same Deployment stands there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from healer_common.contract.streams import CORRELATOR_ALERTS, CORRELATOR_CHANGES
from healer_common.runtime.busclient import BusClient
from healer_common.testing import Recorder, ServiceRunner, recording
from tests.support.correlator_bus import DETECTOR, Body, condition, deploy, drained, incident_where, revisions, send

pytestmark = pytest.mark.integration
INTERVAL_S = 1.0
GATEWAY = {"deployment": "gateway", "owner_kind": "ReplicaSet", "owner_name": "gateway-6f7c9"}


EVERY_CONSUMER = (DETECTOR, CORRELATOR_CHANGES, CORRELATOR_ALERTS)


async def errors_on_the_gateway(bus: BusClient) -> None:
    await send(bus, condition("Pod", "gateway-1", "CrashLoopBackOff", namespace="shop", node="worker-1", **GATEWAY))
    await send(bus, condition("Pod", "gateway-2", "CrashLoopBackOff", namespace="shop", node="worker-2", **GATEWAY))
    await send(bus, condition("Pod", "gateway-3", "OOMKilled", namespace="shop", node="worker-3", **GATEWAY))


def top_cause_is_the_rollout(incident: Body) -> bool:
    return bool(incident["causes"]) and incident["causes"][0]["kind"] == "change"


async def the_rollout_named(seen: Recorder) -> Body:
    msg = await seen.wait_for(incident_where(top_cause_is_the_rollout), timeout=60, what="the rollout as top cause")
    body: Body = json.loads(msg.data)
    return body


@pytest.fixture
async def correlating(services: ServiceRunner) -> ServiceRunner:
    services.configure("correlator", group_interval_s=INTERVAL_S)  # a re-ranking goes out with the next revision
    services.start("detector", "correlator")
    await services.wait_running()
    return services


async def test_errors_on_a_deployment_minutes_after_its_rollout_name_the_rollout_as_the_cause(
    correlating: ServiceRunner, bus: BusClient
) -> None:
    rolled_out = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=4)
    async with recording(bus, bus.space.all_incidents) as seen:
        await send(bus, deploy("gateway", "shop", "v1.5.0", "v1.4.2", when=rolled_out))
        await drained(bus, CORRELATOR_CHANGES)
        await errors_on_the_gateway(bus)
        incident = await the_rollout_named(seen)
        await drained(bus, *EVERY_CONSUMER)

    assert len({r["incident_id"] for r in revisions(seen)}) == 1, "the errors on one Deployment are one incident"
    cause = incident["causes"][0]
    assert cause["resource"]["kind"] == "Deployment"
    assert (cause["resource"]["namespace"], cause["resource"]["name"]) == ("shop", "gateway")
    assert cause["description"].startswith(
        "deploy-related regression: deploy of deployment shop/gateway v1.4.2 -> v1.5.0"
    )
    assert "roll deployment shop/gateway back to v1.4.2" in cause["suggested_actions"]


async def test_a_rollout_heard_of_after_its_errors_still_becomes_the_top_cause(
    correlating: ServiceRunner, bus: BusClient
) -> None:
    rolled_out = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    async with recording(bus, bus.space.all_incidents) as seen:
        await errors_on_the_gateway(bus)
        await drained(bus, DETECTOR, CORRELATOR_ALERTS)
        await asyncio.sleep(INTERVAL_S + 0.5)  # the errors told, the revision they still owed included
        before = revisions(seen)
        assert not any(top_cause_is_the_rollout(r) for r in before)
        await send(bus, deploy("gateway", "shop", "v1.5.0", "v1.4.2", when=rolled_out))
        incident = await the_rollout_named(seen)

    assert incident["incident_id"] == before[-1]["incident_id"]
    assert incident["revision"] == before[-1]["revision"] + 1, "re-published as a new revision"
    assert incident["causes"][0]["resource"]["name"] == "gateway"


async def test_with_staging_watched_the_incident_says_staging_runs_the_old_version_without_errors(
    correlating: ServiceRunner, bus: BusClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    async with recording(bus, bus.space.all_incidents) as seen:
        await send(
            bus, deploy("gateway", "shop", "v1.4.2", "v1.4.1", when=now - dt.timedelta(days=1), cluster="staging")
        )
        await send(bus, deploy("gateway", "shop", "v1.5.0", "v1.4.2", when=now - dt.timedelta(minutes=3)))
        await drained(bus, CORRELATOR_CHANGES)
        await errors_on_the_gateway(bus)
        await the_rollout_named(seen)
        await drained(bus, *EVERY_CONSUMER)

    final = max(revisions(seen), key=lambda r: r["revision"])
    (staging,) = final["environment_differences"]
    assert (staging["environment"], staging["version_here"], staging["version_there"]) == (
        "staging",
        "v1.5.0",
        "v1.4.2",
    )
    assert staging["firing_there"] == []
    assert "the trouble is specific to default" in staging["summary"]
