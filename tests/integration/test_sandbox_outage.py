"""The sandbox's Kubernetes API stops for a while (12 s) under a running `healer up`: the collector reports the
cluster Unreachable meanwhile (`healer status` says so and exits 1), watches again once the API is back, and
does not flood duplicate events about objects that did not change.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest

from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]
OUTAGE_S = 12.0
STRETCH_S = 10.0
"""How long a normal stretch of the scenarios is watched, before the outage and after it."""


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path)
    yield running
    stop_with_descendants(running.process)


def cluster_state(up: Up) -> str | None:
    result = up.healer("status", "--all", "--json")
    clusters = json.loads(result.stdout).get("clusters", []) if result.stdout.strip() else []
    return clusters[0]["state"] if clusters else None


@pytest.mark.timeout(400)
async def test_an_api_outage_is_reported_unreachable_then_watched_again_without_a_flood(up: Up, tmp_path: Path) -> None:
    await eventually(lambda: port_in_use(up.nats_port), timeout=60, what="nats-server listening")
    conditions: list[tuple[float, str, str]] = []  # (when, object, reason), everything the collector says
    nc = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")

    async def on_event(msg: Any) -> None:
        data = json.loads(msg.data).get("data", {})
        if "resource" in data and "reason" in data:
            resource = data["resource"]
            thing = f"{resource['kind']}/{resource.get('namespace')}/{resource['name']}"
            conditions.append((time.monotonic(), thing, data["reason"]))

    try:
        await nc.subscribe("healer.events.kubernetes.>", cb=on_event)
        await eventually(lambda: cluster_state(up) == "Healthy", timeout=120, interval=1, what="cluster Healthy")
        await asyncio.sleep(STRETCH_S)  # the first sync is over: the rate of a normal stretch, to compare against
        quiet = [c for c in conditions if c[0] >= time.monotonic() - STRETCH_S]
        last_said = {thing: reason for _, thing, reason in conditions}
        stop = up.healer("sandbox", "outage", str(OUTAGE_S), "--data-dir", str(tmp_path / "data" / "sandbox"))
        assert stop.returncode == 0, stop.stderr
        stopped_at = time.monotonic()

        await eventually(lambda: cluster_state(up) == "Unreachable", timeout=20, interval=1, what="Unreachable")
        while time.monotonic() - stopped_at < OUTAGE_S - 3:
            assert cluster_state(up) == "Unreachable", "the cluster looked reachable during the outage"
            assert up.healer("status", "--all").returncode == 1
            await asyncio.sleep(2)

        await eventually(lambda: cluster_state(up) == "Healthy", timeout=90, interval=1, what="Healthy again")
        await asyncio.sleep(STRETCH_S)  # a flood of repeats would come with the relist, right after Healthy
        after = [(thing, reason) for when, thing, reason in conditions if when >= stopped_at]
        after_s = time.monotonic() - stopped_at  # the outage, the way back and a stretch: longer than `quiet`
    finally:
        await nc.close()

    repeated = sorted(said_again(conditions, stopped_at))
    print(f"{len(last_said)} objects reported before; {len(quiet)} conditions in a normal {STRETCH_S:.0f} s; after")
    print(f"{len(after)} conditions, {len(repeated)} repeating an object's last state: {repeated[:10]}")
    assert len(last_said) >= 20, "the sandbox should have had plenty of objects to repeat"
    assert not repeated, f"objects whose unchanged state was sent again after the outage: {repeated}"
    normal_rate = len(quiet) / STRETCH_S
    assert len(after) <= 2 * normal_rate * after_s + 10, "far more conditions after the outage than at a normal rate"


def said_again(conditions: list[tuple[float, str, str]], since: float) -> set[str]:
    """Objects the collector told the same state twice in a row, the second time after `since`: a duplicate,
    as opposed to a real change and back."""
    last: dict[str, str] = {}
    repeated = set()
    for when, thing, reason in conditions:
        if when >= since and last.get(thing) == reason:
            repeated.add(f"{thing}: {reason}")
        last[thing] = reason
    return repeated
