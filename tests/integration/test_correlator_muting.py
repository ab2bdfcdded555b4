"""Silences and inhibition end to end, on real NATS and Redis with the correlator and notifier running:
silenced and inhibited alerts are recorded in their incidents and never notified; a silence created with
`healer silence` runs out (or is expired) on time, is audited, and the incident is told then.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ResourceRef
from healer_common.contract.streams import CORRELATOR_ALERTS, NOTIFIER_INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, Recorder, ServiceRunner, recording
from tests.support.correlator_bus import Body, audited, drained, healer, incident_where, revisions
from tests.support.correlator_samples import make_alert, node_alert, pod_alert, resolved

pytestmark = pytest.mark.integration


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
async def running(services: ServiceRunner, http_peer: HttpPeer) -> ServiceRunner:
    http_peer.handler["post /hook"] << {"ok": True}
    services.configure("notifier", webhook_url=f"{http_peer.url}/hook")
    services.configure("correlator", group_interval_s=0.0, tick_s=0.2)
    services.start("correlator", "notifier")
    await services.wait_running()
    return services


def told(peer: HttpPeer) -> list[Any]:
    return [r.data for r in peer.received("POST", "/hook") if r.data["kind"].startswith("incident_")]


async def all_told(bus: BusClient) -> None:
    await drained(bus, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS)


async def revision_where(seen: Recorder, what: str, predicate: Any) -> Body:
    body: Body = json.loads((await seen.wait_for(incident_where(predicate), timeout=60, what=what)).data)
    return body


async def test_a_silenced_alert_is_recorded_never_told_and_told_once_its_silence_runs_out(
    running: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    async with recording(bus, bus.space.all_incidents, bus.space.all_audit) as seen:
        out = await healer(
            running.config_path, "silence", "--duration", "20s", "--reason", "scheduled maintenance", "node=worker-7"
        )
        silence_id = out.split()[1]
        (listed,) = json.loads(await healer(running.config_path, "silence", "list", "--json"))
        assert (listed["silence_id"], listed["state"], listed["reason"]) == (
            silence_id,
            "active",
            "scheduled maintenance",
        )
        await seen.wait_for(audited("cli", "silence", "created"), what="the silence audited")

        await bus.publish(pod_alert("agent-1", node="worker-7", starts_at=now()))
        muted = await revision_where(seen, "a silenced incident", lambda i: i["silenced"])
        assert muted["notify"] is False
        assert muted["alerts"][0]["silenced_by"] == [silence_id]

        ended = await seen.wait_for(audited("correlator", "silence", "expired"), timeout=60, what="silence ran out")
        assert json.loads(ended.data)["reason"].startswith("ran out; it was: scheduled maintenance")
        loud = await revision_where(seen, "told after the silence", lambda i: i["notify"])
        await all_told(bus)

    assert loud["incident_id"] == muted["incident_id"]
    assert (loud["silenced"], loud["alerts"][0]["silenced_by"]) == (False, [])
    assert [r["notify"] for r in revisions(seen)].count(True) == 1
    assert len(told(http_peer)) == 1, "nothing went out while silenced, one message once it ended"


async def test_expiring_a_silence_early_tells_people_at_once_and_is_audited_by_whom(
    running: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    async with recording(bus, bus.space.all_incidents, bus.space.all_audit) as seen:
        out = await healer(
            running.config_path, "silence", "-d", "2h", "-r", "disk swap", "--author", "ana", 'pod=~"db-.*"'
        )
        silence_id = out.split()[1]
        await bus.publish(pod_alert("db-0", alert_id="H2", reason="DiskPressure", starts_at=now()))
        await revision_where(seen, "a silenced incident", lambda i: i["silenced"])

        await healer(running.config_path, "silence", "expire", silence_id, "--author", "ben")
        await seen.wait_for(audited("cli", "silence", "expired"), what="the CLI's audit")
        ended = await seen.wait_for(audited("correlator", "silence", "expired"), timeout=60, what="correlator's audit")
        loud = await revision_where(seen, "told once expired", lambda i: i["notify"])
        await all_told(bus)

    assert json.loads(ended.data)["reason"] == "expired early by ben; it was: disk swap (by ana)"
    assert loud["silenced"] is False
    assert len(told(http_peer)) == 1
    assert json.loads(await healer(running.config_path, "silence", "list", "--json")) == [], (
        "an ended silence is not in force"
    )


async def test_a_failing_database_mutes_the_queue_backlog_it_causes_until_it_recovers(
    running: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    database = make_alert("H6", ResourceRef(kind="Database", namespace="shop", name="orders-db"), starts_at=now())
    backlog = make_alert("H7", ResourceRef(kind="Queue", namespace="shop", name="orders"), starts_at=now())
    async with recording(bus, bus.space.all_incidents) as seen:
        await bus.publish(database)
        await revision_where(seen, "the database's incident", lambda i: i["alerts"][0]["alert_id"] == "H6")
        await bus.publish(backlog)
        muted = await revision_where(seen, "an inhibited backlog", lambda i: i["alerts"][0]["inhibited_by"])
        assert muted["notify"] is False

        await bus.publish(resolved(database, now()))
        freed = await revision_where(
            seen, "the backlog told", lambda i: i["alerts"][0]["alert_id"] == "H7" and i["notify"]
        )
        await all_told(bus)

    assert freed["incident_id"] == muted["incident_id"]
    assert freed["alerts"][0]["inhibited_by"] == []
    kinds = sorted((n["kind"], n["title"].split(":")[0]) for n in told(http_peer))
    assert kinds == [
        ("incident_opened", "[OPENED] database health"),
        ("incident_resolved", "[RESOLVED] database health"),
        ("incident_updated", "[UPDATED] queue backlog"),
    ]


async def test_pods_of_a_not_ready_node_are_muted_while_a_pod_elsewhere_is_told(
    running: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    not_ready: Alert = node_alert("worker-9", reason="NotReady", starts_at=now())
    async with recording(bus, bus.space.all_incidents) as seen:
        await bus.publish(not_ready)
        await revision_where(seen, "the node's incident", lambda i: i["notify"])
        await bus.publish(pod_alert("agent-1", alert_id="A7", reason="Failed", node="worker-9", starts_at=now()))
        muted = await revision_where(seen, "the node's pod muted", lambda i: len(i["alerts"]) == 2)
        await bus.publish(pod_alert("agent-2", alert_id="A7", reason="Failed", node="worker-2", starts_at=now()))
        loud = await revision_where(seen, "the other pod", lambda i: i["alerts"][0]["resource"]["name"] == "agent-2")
        await all_told(bus)

    pod = next(a for a in muted["alerts"] if a["resource"]["name"] == "agent-1")
    assert pod["inhibited_by"] == [f"node down mutes its pods: {not_ready.fingerprint}"]
    assert muted["notify"] is False, "a muted pod joining is nothing to tell"
    assert loud["alerts"][0]["inhibited_by"] == []
    assert loud["notify"] is True, "a pod on a healthy node is"
    assert [n["title"].split(" reported")[0] for n in told(http_peer)] == [
        "[OPENED] memory pressure: node worker-9",
        "[OPENED] pod failure: pod cto/agent-2",
    ]
