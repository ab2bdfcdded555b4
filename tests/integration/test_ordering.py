"""Events about one object are handled in the order they were published, even when a pulled batch is handled
concurrently: a pod's recovery published right after its failure resolves the alert it raised.
"""

from __future__ import annotations

import contextlib
import json
from collections import defaultdict

import pytest

from healer_cli.demo import condition_event
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, partitions_drained, recording

pytestmark = pytest.mark.integration
PODS = 60


async def test_failure_then_recovery_of_each_pod_ends_resolved_in_a_burst(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("detector")
    await services.wait_running()
    subject = bus.space.custom_events("burst")
    async with recording(bus, bus.space.all_alerts) as seen:
        for i in range(PODS):  # interleaved: every pod's OOMKilled, then its Ready, in one burst
            for reason in ("OOMKilled", "Ready"):
                event = condition_event(f"cto/agent-{i}", reason, source="ordering-test")
                await bus.publish_event(subject, event)
        await eventually(lambda: partitions_drained(bus), what="detector drained")
        await seen.wait_count(lambda m: json.loads(m.data)["status"] == "firing", PODS)
        with contextlib.suppress(pytest.fail.Exception):  # the resolutions trail the firings by a moment
            await eventually(lambda: not out_of_order(seen.bodies()), timeout=5)

    assert not out_of_order(seen.bodies()), (
        f"pods whose events were handled out of order: {out_of_order(seen.bodies())}"
    )


def out_of_order(alerts: list[dict[str, object]]) -> dict[str, list[str]]:
    per_pod: dict[str, list[str]] = defaultdict(list)
    for body in alerts:
        per_pod[body["labels"]["pod"]].append(str(body["status"]))  # type: ignore[index]
    return {pod: statuses for pod, statuses in per_pod.items() if statuses != ["firing", "resolved"]}
