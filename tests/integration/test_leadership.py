"""What must run once runs once: a role is led by one replica at a time (a lease in the real Redis), a leader
that stalls is replaced within its lease's TTL, and once replaced it neither writes (fenced) nor acts (its term
has ended by its own clock) when it wakes up; the collector's cluster watches, led this way, say each change
once through a SIGSTOP of the replica that read the cluster.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.leadership import Leadership, LeaseLost, Leases, Term
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings
from healer_common.testing import KubeEmulator, ServiceRunner, event_kind, eventually, recording
from services.collector.sources import samples

pytestmark = pytest.mark.integration
TTL_S = 1.0


async def test_a_stalled_leader_is_replaced_and_neither_writes_nor_acts_when_it_wakes(
    redis: Redis, healer_settings: Settings
) -> None:
    keys = KeySpace(healer_settings.redis.key_prefix)
    told: list[tuple[str, str, int]] = []

    def leadership(holder: str) -> Leadership:
        async def elected(term: Term) -> None:
            told.append((holder, "elected", term.token))

        async def deposed(term: Term) -> None:
            told.append((holder, "deposed", term.token))

        return Leadership(Leases(redis, keys, holder), "timers", TTL_S, on_elected=elected, on_deposed=deposed)

    first, second = leadership("first"), leadership("second")
    await first.step()
    await second.step()
    assert (first.leading, second.leading) == (True, False)
    stale = first.check()

    started = time.monotonic()  # the first stalls: it renews nothing from now on

    async def second_leads() -> bool:
        await second.step()
        return second.leading

    await eventually(second_leads, timeout=5, interval=0.05, what="the second to lead")
    assert time.monotonic() - started < 2 * TTL_S, "replaced within about the lease's TTL"

    with pytest.raises(LeaseLost):
        first.check()  # by its own clock, its term is over: it does not act
    with pytest.raises(LeaseLost):
        await first.leases.fenced(stale, [("SET", keys("timers", "last"), "first")])
    await second.leases.fenced(second.check(), [("SET", keys("timers", "last"), "second")])
    await first.step()  # wakes up: finds the lease gone and steps down
    assert await redis.get(keys("timers", "last")) == "second"
    assert told == [("first", "elected", 1), ("second", "elected", 2), ("first", "deposed", 1)]


def oom_kills(seen: list[RawMessage], pod: str) -> list[dict[str, Any]]:
    found = []
    for msg in seen:
        data = json.loads(msg.data)
        about = data["data"].get("resource", {}).get("name")
        if event_kind(msg.subject) == "condition" and about == pod and data["data"]["reason"] == "OOMKilled":
            found.append(data)
    return found


def oom_kill(kube: KubeEmulator, restarts: int) -> None:
    """rex-1's container OOM-killed just now, and restarted (its `restarts`-th time)."""
    status = samples.running("rex", restarts=restarts)
    status["lastState"] = samples.terminated("OOMKilled", 137, dt.datetime.now(dt.UTC))
    kube.api("PATCH", "/api/v1/namespaces/cto/pods/rex-1", {"status": {"containerStatuses": [status]}})


async def leader_of(settings: Settings, role: str, services: ServiceRunner) -> str:
    """The replica key of the collector that leads `role`, by its heartbeat."""
    redis = connect_redis(settings)
    try:

        async def leading() -> str | None:
            beats = await read_heartbeats(redis, KeySpace(settings.redis.key_prefix))
            pids = {b.pid for b in beats if f"leads {role}" in b.detail}
            return next((k for k, p in services.running.items() if p.process.pid in pids), None)

        found: str = await eventually(leading, timeout=30, what=f"a leader of {role}")
        return found
    finally:
        await redis.aclose()


async def test_a_cluster_read_by_a_stalled_collector_is_taken_over_and_each_oom_kill_said_once(
    services: ServiceRunner, kube: KubeEmulator, bus: BusClient, tmp_path: Path
) -> None:
    services.configure("cluster", name="prod", kubeconfig=tmp_path / "kubeconfig")
    kube.put("", "v1", "pods", "cto", samples.pod("rex-1", containers=[samples.running("rex")]))
    async with recording(bus, bus.space.all_events) as seen:
        services.start("collector", replicas=2)
        await services.wait_running()
        leader = await leader_of(services.settings, "collector/cluster/prod", services)
        services.pause(leader)
        stalled_at = time.monotonic()
        other = next(k for k in services.running if k != leader)
        oom_kill(kube, restarts=1)
        await eventually(lambda: oom_kills(seen.messages, "rex-1"), timeout=30, what="the OOM kill said")
        taken_over_in = time.monotonic() - stalled_at

        services.resume(leader)  # it wakes up with the watch it had: it must say nothing more
        await eventually(lambda: "deposed" in services.running[leader].log(), timeout=30, what="the stalled deposed")
        oom_kill(kube, restarts=2)
        await eventually(lambda: len(oom_kills(seen.messages, "rex-1")) >= 2, timeout=30, what="the second kill")

    assert taken_over_in < 4 * services.settings.scale.lease_ttl_s
    kills = oom_kills(seen.messages, "rex-1")
    assert len(kills) == 2, f"each OOM kill once, whoever read it: {[k['id'] for k in kills]}"
    assert "elected" in services.running[other].log()
