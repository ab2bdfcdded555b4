"""A node under memory pressure whose 20 pods are OOMKilled within 2 minutes: the collector's conditions go
through the real detector, correlator and notifier. One incident, its root cause the node, holding the 21
alerts, and one notification for it, not twenty.
"""

from __future__ import annotations

import json
import re

import pytest

from healer_common.contract.streams import CORRELATOR_ALERTS, NOTIFIER_INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, ServiceRunner, recording
from tests.support.correlator_bus import DETECTOR, condition, drained, incident_where, latest, revisions, send

pytestmark = pytest.mark.integration
NODE = "worker-3"
CONSOLE_LINE = re.compile(r"^\d\d:\d\d:\d\d !! \[.*$", re.MULTILINE)


async def test_a_node_under_memory_pressure_and_its_twenty_oomkilled_pods_are_one_incident_told_once(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    http_peer.handler["post /hook"] << {"ok": True}
    services.configure("correlator", group_wait_s=10.0)
    services.configure("notifier", webhook_url=f"{http_peer.url}/hook")
    services.start("detector", "correlator", "notifier")
    await services.wait_running()

    async with recording(bus, bus.space.all_incidents) as seen:
        await send(bus, condition("Node", NODE, "MemoryPressure"))
        opened = await seen.wait_for(incident_where(lambda i: i["state"] == "opened"), what="incident opened")
        for i in range(20):
            namespace = ("cto", "play")[i % 2]
            labels = {
                "node": NODE,
                "deployment": f"agent-{i}",
                "owner_kind": "ReplicaSet",
                "owner_name": f"agent-{i}-7d9",
            }
            await send(bus, condition("Pod", f"agent-{i}", "OOMKilled", namespace=namespace, **labels))
        told = await seen.wait_for(incident_where(lambda i: i["notify"]), timeout=60, what="a revision to tell")
        await drained(bus, DETECTOR, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS)

    incident_id = told.headers["Healer-Incident-Id"]
    assert {r["incident_id"] for r in revisions(seen)} == {incident_id}, "one incident, not twenty-one"
    final = latest(seen, incident_id)
    assert len(final["alerts"]) == 21
    assert final["causes"][0]["resource"] == {"kind": "Node", "namespace": None, "name": NODE, "container": None}
    assert final["causes"][0]["kind"] == "topology"
    assert final["title"].startswith(f"memory pressure: node {NODE}")
    assert [r["revision"] for r in revisions(seen) if r["notify"]] == [json.loads(told.data)["revision"]]
    assert opened.headers["Healer-Incident-Id"] == incident_id
    notifications = [r for r in http_peer.received("POST", "/hook") if r.data["kind"].startswith("incident_")]
    assert len(notifications) == 1, "one notification, not twenty"
    assert NODE in notifications[0].data["title"]
    console_lines = CONSOLE_LINE.findall(services.running["notifier"].log())
    assert len(console_lines) == 1
    assert f"memory pressure: node {NODE}" in console_lines[0]
