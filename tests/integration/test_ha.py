"""The production shape on one machine, through faults: two replicas of every service on a three-node NATS
cluster (streams with three replicas), pods OOM-killed one after another while a NATS node is killed and the
detector replica serving most partitions is killed too. Every expected alert is in the alert stream once, and
every notification reaches the team's webhook exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.contract.streams import ALERTS, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.jetstream import NATS_DOWN
from healer_common.runtime.servers import NatsCluster, ServerProcess
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import SERVICES
from healer_common.testing import HttpPeer, ServiceRunner, eventually, isolated_settings
from tests.support.correlator_bus import DETECTOR, drained
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]
PODS = 24  # in as many namespaces: one incident each
PUBLISH_DEADLINE_S = 60.0


@pytest.fixture
async def healer_ha(
    nats_cluster: NatsCluster, redis_server: ServerProcess, http_peer: HttpPeer, tmp_path: Path
) -> AsyncIterator[tuple[ServiceRunner, BusClient]]:
    http_peer.handler["post /hook"] << {"ok": True}
    settings = isolated_settings(
        nats_cluster.url,
        f"{redis_server.url}/0",
        tmp_path,
        nats={"stream_replicas": 3},
        notifier={"webhook_url": f"{http_peer.url}/hook"},
        log={"level": "INFO"},
    )
    runner = ServiceRunner(settings, tmp_path)
    try:
        async with BusClient(settings, name="healer-ha-test") as bus:
            await bus.ensure_streams()
            runner.start(*SERVICES, replicas=2)
            await runner.wait_running(timeout=240)
            yield runner, bus
    finally:
        codes = runner.stop_all()
        crashed = {name: code for name, code in codes.items() if code not in (0, -15, -9)}
        assert not crashed, f"replicas did not stop cleanly: {crashed}"


async def oom_kill(bus: BusClient, index: int) -> None:
    """An OOM kill of pod ha-<i>/rex, published as your own system would (the detector's intake routes it),
    retried while the stream has no leader (a NATS node was just killed)."""
    event = condition_event(f"ha-{index}/rex", "OOMKilled", source="ha-test")
    deadline = time.monotonic() + PUBLISH_DEADLINE_S
    while True:
        try:
            await bus.publish_event(bus.space.custom_events("ha"), event)
        except NATS_DOWN:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            return


def told(peer: HttpPeer) -> Counter[str]:
    """Deliveries to the webhook, by notification id."""
    return Counter(json.loads(r.body)["notification_id"] for r in peer.received("POST", "/hook"))


def opened(peer: HttpPeer) -> set[str]:
    return {json.loads(r.body)["namespace"] for r in peer.received("POST", "/hook") if b"incident_opened" in r.body}


async def busiest_detector(runner: ServiceRunner) -> str:
    """The detector replica serving the most partitions, by its heartbeat."""
    redis = connect_redis(runner.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(runner.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    served = {b.pid: sum(k.startswith("partition ") for k in b.detail) for b in beats if b.service == "detector"}
    replicas = [k for k, p in runner.running.items() if p.service == "detector"]
    return max(replicas, key=lambda k: served.get(runner.running[k].process.pid, 0))


async def test_two_replicas_of_everything_on_three_nats_nodes_lose_and_double_nothing_through_a_node_and_a_replica_kill(
    healer_ha: tuple[ServiceRunner, BusClient], nats_cluster: NatsCluster, http_peer: HttpPeer
) -> None:
    runner, bus = healer_ha
    for index in range(PODS // 2):
        await oom_kill(bus, index)
    await eventually(lambda: len(opened(http_peer)) >= PODS // 4, timeout=120, what="the first incidents told")

    victim = await busiest_detector(runner)
    nats_cluster.kill_node(0)
    runner.stop(victim, sig=9)
    for index in range(PODS // 2, PODS):
        await oom_kill(bus, index)
    nats_cluster.start_node(0)

    expected = {f"ha-{i}" for i in range(PODS)}
    await eventually(lambda: opened(http_peer) >= expected, timeout=180, interval=0.5, what="every incident told")
    await drained(bus, DETECTOR, CORRELATOR_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS)

    firing: Counter[tuple[str, str]] = Counter()
    async for msg in bus.history(ALERTS, since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)):
        alert = json.loads(msg.data)
        firing[(alert["namespace"], alert["status"])] += 1
    assert {ns for ns, status in firing if status == "firing"} == expected, "every expected alert"
    assert max(firing.values()) == 1, f"each alert once in the alert stream: {firing.most_common(3)}"
    deliveries = told(http_peer)
    assert max(deliveries.values()) == 1, f"each notification delivered once: {deliveries.most_common(3)}"
