"""`healer up --ha`, the production shape on one machine: three nats-server processes as one JetStream cluster
(every stream with three replicas, one on each node), two running replicas of every service, and SIGTERM stops
all of it."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import nats
import psutil
import pytest
from redis.asyncio import Redis

from healer_common.contract.streams import STREAMS
from healer_common.contract.subjects import SubjectSpace
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.servers import free_port, port_in_use
from healer_common.runtime.state import KeySpace
from healer_common.settings import SERVICES
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]


def three_free_ports() -> int:
    """A port with the next two free as well: --ha puts its three NATS nodes on --nats-port and the next two."""
    while True:
        port = free_port()
        if port < 65_000 and not any(port_in_use(port + i) for i in (1, 2)):
            return port


async def running_replicas(up: Up) -> Counter[str]:
    client = Redis.from_url(f"redis://127.0.0.1:{up.redis_port}/0")
    try:
        beats = await read_heartbeats(client, KeySpace("healer"))
    finally:
        await client.aclose()
    return Counter(b.service for b in beats if b.state == "running")


async def test_up_ha_runs_three_nats_nodes_with_r3_streams_and_two_replicas_of_every_service(tmp_path: Path) -> None:
    nats_port = three_free_ports()
    up = start_up(tmp_path, "--ha", "--no-sandbox", "--no-demo", nats_port=nats_port)
    try:
        nodes = [nats_port + i for i in range(3)]
        servers = [*nodes, up.redis_port]
        await eventually(lambda: all(port_in_use(p) for p in servers), timeout=60, what="three NATS nodes and Redis")

        async def two_of_each() -> bool:
            replicas = await running_replicas(up)
            return all(replicas[name] == 2 for name in SERVICES)

        await eventually(two_of_each, timeout=150, interval=1, what="two running replicas of every service")

        client = await nats.connect(servers=[f"nats://127.0.0.1:{p}" for p in nodes])
        try:
            js = client.jetstream()
            for spec in STREAMS:
                info = await js.stream_info(spec.name(SubjectSpace("healer")))
                assert info.config.num_replicas == 3, spec.key
                assert info.cluster is not None
                assert len(info.cluster.replicas or []) == 2, f"{spec.key}: a leader and two followers"
        finally:
            await client.close()

        processes = psutil.Process(up.process.pid).children(recursive=True)
        names = Counter("nats-server" if "nats-server" in p.name() else p.name() for p in processes)
        assert names["nats-server"] == 3
        up.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(up.process.wait, 60) == 0, up.output()[-3000:]
        _gone, alive = psutil.wait_procs(processes, timeout=10)
        assert not alive, [p.cmdline()[:3] for p in alive]
        assert not any(port_in_use(p) for p in nodes)
    finally:
        stop_with_descendants(up.process)
