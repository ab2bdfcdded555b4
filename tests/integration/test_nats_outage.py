"""A NATS outage in the middle of a run loses no alert: services reconnect, consumers resume where they were,
and the alerts of events published before, during (retried by the publisher) and after the outage are all
stored once in the alert stream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.contract.streams import ALERTS
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.servers import NatsCluster, ServerProcess, free_port, start_nats
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, eventually, isolated_settings

pytestmark = pytest.mark.integration
PODS = 40


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[ServerProcess]:
    """A NATS server of this test's own, since the test stops it."""
    server = start_nats(tmp_path / "nats", free_port())
    yield server
    server.stop()


async def stored_alert_pods(settings: Settings, since: dt.datetime) -> set[str]:
    async with BusClient(settings) as bus:
        pods = set()
        async for msg in bus.history(ALERTS, since):
            body = json.loads(msg.data)
            if body["status"] == "firing":
                pods.add(body["labels"]["pod"])
        return pods


async def publish_pods(settings: Settings, names: range) -> None:
    async with BusClient(settings) as bus:
        for i in names:
            event = condition_event(f"cto/agent-{i}", "OOMKilled", source="outage-test")
            await bus.publish_event(bus.space.custom_events("outage"), event)


async def test_restarting_nats_mid_run_loses_no_alert(
    own_nats: ServerProcess, redis_server: ServerProcess, tmp_path: Path
) -> None:
    settings = isolated_settings(own_nats.url, f"{redis_server.url}/0", tmp_path)
    runner = ServiceRunner(settings, tmp_path)
    try:
        async with BusClient(settings) as bus:
            await bus.ensure_streams()
        started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        runner.start("detector", "correlator")
        await runner.wait_running()

        await publish_pods(settings, range(PODS // 2))
        own_nats.stop()  # mid-run: the detector may be between consuming and publishing
        await asyncio.sleep(2.0)
        restarted = start_nats(own_nats.data_dir, own_nats.port, check_free=False)
        own_nats.process = restarted.process
        await publish_pods(settings, range(PODS // 2, PODS))

        async def all_alerts() -> bool:
            return len(await stored_alert_pods(settings, started)) == PODS

        await eventually(all_alerts, timeout=90, interval=1.0, what=f"{PODS} alerts stored")
        assert all(p.alive() for p in runner.running.values()), runner.logs()
    finally:
        runner.stop_all()


async def test_a_service_started_while_jetstream_has_no_leader_waits_for_it_then_serves(
    nats_cluster: NatsCluster, redis_server: ServerProcess, tmp_path: Path
) -> None:
    """Two of three NATS nodes down: the node left takes connections, but JetStream has no leader and refuses
    or times out, as it does while a cluster forms on a loaded machine. The notifier waits, saying so, instead
    of exiting half-started; once the nodes are back it serves."""
    settings = isolated_settings(
        nats_cluster.url, f"{redis_server.url}/0", tmp_path, nats={"stream_replicas": 3, "jetstream_timeout_s": 2.0}
    )
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
    nats_cluster.kill_node(1)
    nats_cluster.kill_node(2)
    runner = ServiceRunner(settings, tmp_path)
    try:
        runner.start("notifier")
        notifier = runner.running["notifier"]
        await eventually(lambda: "waiting_for_jetstream" in notifier.log(), timeout=60, what="waiting said")
        await asyncio.sleep(3)  # a few more tries
        assert notifier.process.poll() is None, f"exited with {notifier.process.returncode}: {notifier.log()[-2000:]}"
        nats_cluster.start_node(1)
        nats_cluster.start_node(2)
        await runner.wait_running(timeout=120)
    finally:
        codes = runner.stop_all()
    assert set(codes.values()) <= {0, -15}, f"the notifier stopped cleanly: {codes}"
