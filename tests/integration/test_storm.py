"""A storm end to end: 1,000 alerts in 50 groups arrive at once as Alertmanager webhooks (batches of 100, as an
Alertmanager sends them) and go through the real detector, correlator and notifier to a webhook receiver.
Every alert is in some notification, and no group is told twice within its group_interval, as Alertmanager's
aggregation groups promise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from collections import defaultdict
from typing import Any

import pytest

from healer_common.contract.streams import CORRELATOR_ALERTS, NOTIFIER_INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, ServiceRunner, eventually, recording
from tests.support.correlator_bus import DETECTOR, drained, incident_where, revisions
from tests.support.correlator_samples import pod_alert

pytestmark = pytest.mark.integration
NAMES = ("StormCpuHigh", "StormDiskSlow", "StormNetLoss", "StormMemLeak", "StormQueueLag")
NODES = tuple(f"worker-{i}" for i in range(10))
INTERVAL_S = 3.0


def storm() -> list[dict[str, str]]:
    """1,000 alerts, each its own pod, interleaved over 5 names x 10 nodes: every batch touches every group."""
    groups = list(itertools.product(NAMES, NODES))
    return [
        {"alertname": name, "namespace": "shop", "node": node, "pod": f"pod-{i:04d}", "severity": "warning"}
        for i, (name, node) in enumerate(groups[i % len(groups)] for i in range(1_000))
    ]


def webhook(labels: list[dict[str, str]], starts_at: dt.datetime) -> bytes:
    alerts = [{"status": "firing", "labels": a, "startsAt": starts_at.isoformat()} for a in labels]
    return json.dumps({"version": "4", "receiver": "storm", "status": "firing", "alerts": alerts}).encode()


def told(peer: HttpPeer) -> list[dict[str, Any]]:
    return [r.data for r in peer.received("POST", "/hook") if r.data["kind"].startswith("incident_")]


def pods_told(peer: HttpPeer) -> set[str]:
    return {a["labels"]["pod"] for n in told(peer) for a in n["alerts"]}


async def test_a_thousand_alerts_in_fifty_groups_are_all_told_at_most_once_per_group_per_interval(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    http_peer.handler["post /hook"] << {"ok": True}
    grouping = {"group_by": ["alertname", "namespace", "node"], "topology": []}
    services.configure("correlator", **grouping, group_wait_s=0.0, group_interval_s=INTERVAL_S, tick_s=0.2)
    services.configure("notifier", webhook_url=f"{http_peer.url}/hook", console=False)
    services.start("detector", "correlator", "notifier")
    await services.wait_running()

    alerts, now = storm(), dt.datetime.now(dt.UTC)
    for start in range(0, len(alerts), 100):
        body = webhook(alerts[start : start + 100], now)
        await bus.publish_raw(bus.space.alertmanager("storm"), body, {"Nats-Msg-Id": f"storm-{start}"})
    everyone = {a["pod"] for a in alerts}
    await eventually(lambda: pods_told(http_peer) >= everyone, timeout=90, what="every alert told")
    await drained(bus, DETECTOR, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS)

    notes = told(http_peer)
    assert pods_told(http_peer) == everyone, "no alert missing"
    by_group: dict[tuple[str, str], list[dt.datetime]] = defaultdict(list)
    for note in notes:
        (group,) = {(a["labels"]["alertname"], a["labels"]["node"]) for a in note["alerts"]}
        by_group[group].append(dt.datetime.fromisoformat(note["time"]))
    assert len(by_group) == 50
    assert len({n["incident_id"] for n in notes}) == 50, "one incident per group"
    for group, times in by_group.items():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sorted(times))]
        assert all(gap >= INTERVAL_S for gap in gaps), f"{group} told {len(times)} times, gaps {gaps}"
    assert len(notes) < 1_000 / 4, "told per group and interval, never per alert"


async def test_groups_a_long_backlog_opens_are_told_before_the_rest_of_it_is_folded(
    services: ServiceRunner, bus: BusClient
) -> None:
    """1,000 alerts already waiting when the correlator starts, in one batch: the 200 groups its first alerts
    open are published as soon as those are folded, not after the 800 that join them (a storm's groups are told
    within a moment); what joined follows one group_interval later."""
    grouping = {"group_by": ["alertname", "namespace", "node"], "topology": []}
    services.configure("correlator", **grouping, group_wait_s=0.0, group_interval_s=2.0, batch_max=1_000)
    now = dt.datetime.now(dt.UTC)
    backlog = [pod_alert(f"pod-{i:04d}", node=f"worker-{i % 200:03d}", starts_at=now) for i in range(1_000)]
    for start in range(0, len(backlog), 100):
        await asyncio.gather(*(bus.publish(alert) for alert in backlog[start : start + 100]))
    async with recording(bus, bus.space.all_incidents) as seen:
        services.start("correlator")
        await services.wait_running()
        await eventually(
            lambda: sum(1 for r in revisions(seen) if len(r["alerts"]) == 5) == 200, timeout=60, what="all joined"
        )

    first = {r["incident_id"]: r for r in reversed(revisions(seen)) if r["revision"] == 1}
    assert len(first) == 200, "one incident per group"
    assert {len(r["alerts"]) for r in first.values()} == {1}, "each group told with its first alert alone"


async def test_a_revision_due_between_two_looks_of_the_timer_goes_out_when_due(
    services: ServiceRunner, bus: BusClient
) -> None:
    """The timer looks every 4 s here; a group's next revision, due 4.5 s after its first, is published then
    and not at the first look after it (up to 4 s late)."""
    grouping = {"group_by": ["alertname", "namespace", "node"], "topology": []}
    services.configure("correlator", **grouping, group_wait_s=0.0, group_interval_s=4.5, tick_s=4.0)
    services.start("correlator")
    await services.wait_running()
    now = dt.datetime.now(dt.UTC)
    async with recording(bus, bus.space.all_incidents) as seen:
        await bus.publish(pod_alert("pod-a", node="worker-1", starts_at=now))
        await seen.wait_for(incident_where(lambda i: i["revision"] == 1), what="first revision")
        await bus.publish(pod_alert("pod-b", node="worker-1", starts_at=now))
        await seen.wait_for(incident_where(lambda i: i["revision"] == 2), timeout=30, what="second revision")

    times = {r["revision"]: dt.datetime.fromisoformat(r["time"]) for r in revisions(seen)}
    gap = (times[2] - times[1]).total_seconds()
    assert 4.5 <= gap < 5.0, f"published {gap - 4.5:.2f} s after it was due"
