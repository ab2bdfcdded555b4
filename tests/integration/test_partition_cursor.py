"""A detector partition handles every message of its partition even when NATS handed some of them out to a
pull that never reached the detector: what a connection cut off as a slow consumer does (the cursor takes no
acks, so NATS counts those messages as delivered and never offers them again).

The lost pull is made deterministic: while the detector is paused (SIGSTOP) and its own pulls have expired,
the test pulls the first messages from the partition's cursor itself and drops them. When the detector
resumes, either the messages after them show the gap (its next delivery is not the one after the last it
handled) or, when none came after them, the idle cursor does (it handed out more than was handled); the
partition reads again from the last message handled, and every pod's OOM kill raises its alert. The other,
quiet partitions are never taken for gapped.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from healer_cli.demo import condition_event
from healer_common.contract.partitions import object_key, partition_of, split
from healer_common.contract.streams import EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import ServiceRunner, eventually, partitions_drained, recording

pytestmark = pytest.mark.integration
PARTITIONS = 3
PODS = 6


def pods_in_one_partition(label: str) -> tuple[int, list[str]]:
    """`PODS` pods whose events all land in one partition, and that partition."""
    by_part: dict[int, list[str]] = {}
    for i in range(1_000):
        pod = f"{label}-{i}"
        pods = by_part.setdefault(partition_of(object_key("default", "Pod", "cto", pod), PARTITIONS), [])
        pods.append(pod)
        if len(pods) == PODS:
            return partition_of(object_key("default", "Pod", "cto", pod), PARTITIONS), pods
    raise AssertionError("no partition got enough pods")


async def cursor_of(bus: BusClient, partition: int) -> str:
    """The name of the detector's cursor on the partition, once no pull of the detector's waits on it."""
    infos = await bus.js.consumers_info(EVENTS.name(bus.space))
    (info,) = [i for i in infos if (i.name or "").startswith(f"detector-{partition}-")]
    return info.name if not info.num_waiting else ""


@pytest.mark.parametrize("lost", [PODS // 2, PODS], ids=["lost-before-others", "lost-at-the-end"])
async def test_messages_a_partition_cursor_handed_to_a_lost_pull_are_read_again(
    healer_settings: Settings, tmp_path: Path, lost: int
) -> None:
    settings = healer_settings.model_copy(
        update={"scale": healer_settings.scale.model_copy(update={"partitions": PARTITIONS, "lease_ttl_s": 60.0})}
    )
    runner = ServiceRunner(settings, tmp_path)
    try:
        async with BusClient(settings, name="cursor-test") as bus:
            await bus.ensure_streams()
            (key,) = runner.start("detector")
            await runner.wait_running(key, timeout=60)
            await eventually(lambda: partitions_drained(bus), timeout=30, what="every partition served")
            partition, pods = pods_in_one_partition(f"lost-{lost}")
            detector = runner.running[key].process
            detector.send_signal(signal.SIGSTOP)
            async with recording(bus, bus.space.alerts("H8")) as seen:
                try:
                    cursor = await eventually(lambda: cursor_of(bus, partition), timeout=30, what="its pulls expired")
                    subject = bus.space.custom_events("cursor-test")
                    for pod in pods:
                        for part_no, part in split(condition_event(f"cto/{pod}", "OOMKilled"), PARTITIONS):
                            await bus.publish_event(bus.space.in_partition(subject, part_no), part)
                    thief = await bus.js.pull_subscribe_bind(durable=cursor, stream=EVENTS.name(bus.space))
                    taken = await thief.fetch(lost, timeout=5)
                    await thief.unsubscribe()
                    assert len(taken) == lost
                finally:
                    detector.send_signal(signal.SIGCONT)
                await seen.wait_count(lambda m: json.loads(m.data)["labels"].get("pod") in pods, PODS, timeout=30)
            assert {json.loads(m.data)["labels"]["pod"] for m in seen.messages} == set(pods)
            log = runner.running[key].log_path.read_text().splitlines()
            gaps = [json.loads(line) for line in log if '"cursor_gap"' in line]
            assert {g["partition"] for g in gaps} == {str(partition)}, "only the partition that lost a pull"
    finally:
        runner.stop_all()
