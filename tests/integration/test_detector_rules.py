"""Every catalogue rule on real NATS and Redis: the detector service runs in this process with a manual clock,
so "held for ten minutes" takes no time; events go through JetStream, watches and timers live in Redis, and
alerts are read back off the bus as a subscriber sees them. Per rule: quiet while trouble is younger than
its hold, fires once it has held, resolves when trouble ends, and stays steady when trouble comes and goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from healer_common.clock import ManualClock
from healer_common.contract.events import EVENT_ADAPTER, ResourceRef
from healer_common.runtime.bus import Service
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import Recorder, eventually, partitions_drained, recording
from services.detector.adapters.partition_work import DetectorParts
from services.detector.app import compose
from tests.support.detector_cases import CASES, Case, Signal, condition

pytestmark = pytest.mark.integration
ONE_US = dt.timedelta(microseconds=1)


@dataclass
class RunningDetector:
    parts: DetectorParts
    clock: ManualClock
    bus: BusClient
    service: Service
    task: asyncio.Task[None]

    async def stop(self) -> None:
        self.service.stop()
        await self.task

    async def report(self, signal: Signal) -> None:
        """Publish one signal as the collector would, dated by the detector's clock."""
        await report(self.bus, self.clock, signal)

    async def settled(self) -> None:
        """Until every published event is handled and the timer has looked at the clock's current time."""
        await eventually(lambda: partitions_drained(self.bus), interval=0.01, what="drained")
        now = self.clock.now()

        def timers_ran() -> bool:
            evaluations = self.parts.evaluations.values()
            return bool(evaluations) and all((e.evaluated_at or now - ONE_US) >= now for e in evaluations)

        await eventually(timers_ran, interval=0.01, what="the timer's run")
        await self.bus.nc.flush()

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.settled()


async def report(bus: BusClient, clock: ManualClock, signal: Signal) -> None:
    """Publish one signal as the collector would, dated by `clock`."""
    if signal.metric:
        kind = "healer.metrics.v1"
        sample = {"name": signal.metric, "value": signal.value, "labels": signal.labels}
        data: dict[str, Any] = {"samples": [sample]}
    else:
        assert signal.resource is not None
        kind = "healer.condition.v1"
        resource = signal.resource.model_dump(exclude_none=True)
        data = {"resource": resource, "reason": signal.reason, "labels": signal.labels}
    event_id = uuid.uuid4().hex
    body = {"specversion": "1.0", "id": event_id, "source": "rules-test", "type": kind, "data": data}
    body["time"] = clock.now().isoformat()
    subject = bus.space.events("rules-test", kind.split(".")[1])
    await bus.publish_event(subject, EVENT_ADAPTER.validate_python(body))


@contextlib.asynccontextmanager
async def running_detector(settings: Settings, clock: ManualClock, bus: BusClient) -> AsyncIterator[RunningDetector]:
    """The detector service in this process, on the manual clock; stopped (its partitions handed over, their
    checkpoints saved) when the block ends."""
    service = Service("detector", settings, clock=clock)
    parts = compose(service)
    task = asyncio.create_task(service.run())
    try:
        await eventually(lambda: service.state == "running", timeout=30, what="detector running")
        yield RunningDetector(parts, clock, bus, service, task)
    finally:
        service.stop()
        await task


def quick(settings: Settings, **detector: Any) -> Settings:
    return settings.model_copy(
        update={
            "detector": settings.detector.model_copy(update={"tick_s": 0.05, **detector}),
            "bus": settings.bus.model_copy(update={"heartbeat_interval_s": 0.05}),  # drained says so sooner
        }
    )


@pytest.fixture
async def detector(healer_settings: Settings, bus: BusClient) -> AsyncIterator[RunningDetector]:
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    async with running_detector(quick(healer_settings), clock, bus) as running:
        yield running


async def troubled(detector: RunningDetector, case: Case) -> None:
    """Trouble reported, and the clock moved to just short of its hold."""
    await detector.report(case.trouble)
    await detector.settled()
    await detector.advance(max(0.0, case.hold_s - 5))


async def still_troubled(detector: RunningDetector, case: Case) -> None:
    """The next scrapes say the same (rules that count repeats need a few)."""
    for _ in range(2):
        await detector.report(case.trouble)


def alerts_of(seen: Recorder, case: Case) -> list[tuple[str, str]]:
    return [(b["alert_id"], b["status"]) for b in seen.bodies() if b["alert_id"] == case.alert_id]


async def wait_status(seen: Recorder, case: Case, status: str, count: int = 1) -> None:
    await seen.wait_count(lambda m: json.loads(m.data)["status"] == status, count)


@pytest.mark.parametrize("case", CASES, ids=str)
async def test_each_rule_fires_after_its_hold_resolves_and_does_not_flap(
    detector: RunningDetector, bus: BusClient, case: Case
) -> None:
    async with recording(bus, bus.space.all_alerts) as seen:
        await troubled(detector, case)
        if case.hold_s > 0:
            assert alerts_of(seen, case) == [], "fired before its hold"
        await still_troubled(detector, case)
        await detector.advance(10)
        await wait_status(seen, case, "firing")
        await detector.report(case.recovery)
        await detector.advance(case.resolve_s + 1)
        await wait_status(seen, case, "resolved")
        assert alerts_of(seen, case) == [(case.alert_id, "firing"), (case.alert_id, "resolved")]
        fingerprints = {b["fingerprint"] for b in seen.bodies()}
        assert len(fingerprints) == 1

        await troubled(detector, case)
        await still_troubled(detector, case)
        await detector.advance(10)
        await wait_status(seen, case, "firing", 2)
        for _ in range(6):  # trouble eased and back every 5 s: one flap at most, then steady
            await detector.report(case.hover or case.recovery)
            await detector.advance(5)
            await detector.report(case.trouble)
            await detector.advance(5)
        assert len(alerts_of(seen, case)) <= 5, alerts_of(seen, case)
        assert alerts_of(seen, case)[-1] == (case.alert_id, "firing")


async def test_a_burst_of_connection_failures_in_logs_raises_h5_through_the_service(
    detector: RunningDetector, bus: BusClient
) -> None:
    async with recording(bus, bus.space.all_alerts) as seen:
        for attempt in range(6):
            line = f"dial tcp 10.0.0.{attempt}:5432: connect: connection refused (attempt {attempt})"
            body: dict[str, Any] = {
                "specversion": "1.0",
                "id": uuid.uuid4().hex,
                "source": "loki",
                "type": "healer.log.v1",
                "time": detector.clock.now().isoformat(),
                "data": {"line": line, "level": "error", "labels": {"namespace": "cto", "app": "api"}},
            }
            await bus.publish_raw(bus.space.events("loki", "log"), json.dumps(body).encode(), {})
        await seen.wait_count(lambda m: json.loads(m.data)["status"] == "firing", 1)

        (alert,) = seen.bodies()
        assert (alert["alert_id"], alert["resource"]["name"]) == ("H5", "api")
        assert alert["evidence"][0]["kind"] == "log"
        await detector.advance(400)
        await seen.wait_count(lambda m: json.loads(m.data)["status"] == "resolved", 1)


async def test_a_filling_volume_is_predicted_before_it_fills_through_the_service(
    detector: RunningDetector, bus: BusClient
) -> None:
    labels = {"namespace": "cto", "persistentvolumeclaim": "data-0"}
    async with recording(bus, bus.space.all_alerts) as seen:
        for minute in range(40):  # 50 % + 0.5 %/min: 80 % at minute 60
            await detector.report(Signal(labels, metric="pvc_usage_ratio", value=0.5 + 0.005 * minute))
            await detector.advance(60)
        await seen.wait_count(lambda m: json.loads(m.data)["labels"].get("predicted") == "true", 1)

    (predicted,) = seen.bodies()
    assert (predicted["alert_id"], predicted["status"], predicted["severity"]) == ("H2", "firing", "warning")
    assert predicted["labels"]["predicted_crossing"] > detector.clock.now().isoformat()


async def test_the_next_detector_resumes_a_partition_s_series_from_its_checkpoint(
    detector: RunningDetector, healer_settings: Settings, bus: BusClient
) -> None:
    labels = {"namespace": "cto", "queue": "builds"}
    for minute in range(10):  # a steady queue, learnt by the first detector
        await detector.report(Signal(labels, metric="queue_depth", value=40 + minute % 3))
        await detector.advance(60)
    await detector.stop()  # its partitions handed over: checkpoints saved

    async with (
        running_detector(quick(healer_settings), detector.clock, bus) as second,
        recording(bus, bus.space.all_alerts) as seen,
    ):
        await second.report(Signal(labels, metric="queue_depth", value=4_000))
        alert = await seen.wait_for(lambda m: json.loads(m.data)["alert_id"] == "H7", what="the queue's growth")

    summary = json.loads(alert.data)["annotations"]["summary"]
    assert "grew by 3,958 to 4,000 over 5 minutes" in summary, "growth measured from before the hand-over"


async def test_a_burst_of_conditions_taken_together_is_judged_in_order_each_on_what_the_one_before_left(
    healer_settings: Settings, bus: BusClient
) -> None:
    """Forty pods OOM-killed and ready again, published before the detector starts, so they reach it together:
    each pod's recovery finds the watch its OOM kill opened a moment before in the same batch, and every pod's
    alert fires, then resolves, once."""
    clock = ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    pods = [ResourceRef(kind="Pod", namespace="burst", name=f"rex-{i}") for i in range(40)]
    async with recording(bus, bus.space.all_alerts) as seen:
        for pod in pods:
            await report(bus, clock, condition("OOMKilled", pod))
            await report(bus, clock, condition("Ready", pod))
        async with running_detector(quick(healer_settings), clock, bus) as detector:
            await detector.settled()
            await detector.advance(60)
            await seen.wait_count(lambda m: json.loads(m.data)["status"] == "resolved", len(pods))

    told: dict[str, list[str]] = {}
    for body in seen.bodies():
        told.setdefault(body["resource"]["name"], []).append(body["status"])
    assert told == {pod.name: ["firing", "resolved"] for pod in pods}
