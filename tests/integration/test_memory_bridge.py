"""memory-bridge as a process on real NATS, as the remediator, the CLI and a subscriber of `healer.alerts.*`
meet it: a verified fix is remembered and recommended the next time the same incident comes, with the
confidence the remediator acts on; the memories it rested on are reinforced; a remembered pattern raises
H10; and the same holds when memories live in OpenMemory (a local peer in its documented shape).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.contract.memory import (
    MemoryAdd,
    MemoryAdded,
    MemoryAnswer,
    MemoryListing,
    MemoryListRequest,
    MemoryMetadata,
    MemoryPattern,
    MemoryQuery,
)
from healer_common.contract.remediations import Remediation, RemediationStep
from healer_common.runtime.busclient import BusClient
from healer_common.testing import HttpPeer, ServiceRunner, eventually, recording
from tests.support.openmemory_peer import FakeOpenMemory
from tests.support.samples import alert

pytestmark = pytest.mark.integration
WAIT_S = 10.0


def fixed(remediation_id: str, pod: str, memory_ids: tuple[str, ...] = ()) -> Remediation:
    """A verified raise-memory-limit run on an OOMKilled pod in cto, as the remediator publishes it."""
    now = dt.datetime.now(dt.UTC)
    step = RemediationStep(
        action="patch_limits",
        params={"memory_limit": "1Gi"},
        outcome="ok",
        detail=f"raised the memory limit of cto/{pod} to 1Gi",
        started_at=now,
        finished_at=now,
    )
    return Remediation(
        event_id=f"{remediation_id}-succeeded",
        remediation_id=remediation_id,
        incident_id=f"inc-{remediation_id}",
        playbook="raise-memory-limit",
        state="succeeded",
        cluster="default",
        target=ResourceRef(kind="Pod", namespace="cto", name=pod),
        alert_ids=["H8"],
        steps=[step],
        reason="verified: the alert resolved 40.0s after the run started",
        memory_ids=list(memory_ids),
        started_at=now - dt.timedelta(seconds=40),
        finished_at=now,
        time=now,
    )


SAME_INCIDENT = MemoryQuery(
    text="H8 pod cto/leaky-7d4b9c6f5-x2k8p OOMKilled", alert_type="H8", namespace="cto", service="leaky-7d4b9c6f5-x2k8p"
)


async def ask(bus: BusClient, question: MemoryQuery) -> MemoryAnswer:
    answer: MemoryAnswer = await bus.request(bus.space.memory_query, question, MemoryAnswer, WAIT_S)
    return answer


async def recommended(bus: BusClient) -> MemoryAnswer:
    async def probe() -> MemoryAnswer | None:
        answer = await ask(bus, SAME_INCIDENT)
        return answer if answer.recommendation is not None else None

    found: MemoryAnswer = await eventually(probe, what="a recommendation for the same incident")
    return found


async def test_a_verified_fix_is_recommended_above_0_9_the_next_time_the_same_incident_comes(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("memory-bridge")
    await services.wait_running()
    async with recording(bus, bus.space.audit("memory-bridge")) as audits:
        await bus.publish(fixed("rem-1", "leaky-7d4b9c6f5-abcde"))
        answer = await recommended(bus)
        remembered = await audits.wait_for(lambda m: json.loads(m.data)["action"] == "remember_outcome")

    recommendation = answer.recommendation
    assert recommendation is not None
    assert recommendation.method == "raise-memory-limit"
    assert recommendation.confidence > 0.9
    assert recommendation.params == {"memory_limit": "1Gi"}
    assert recommendation.memory_id == json.loads(remembered.data)["details"]["memory_id"]
    assert answer.context.startswith("Recommended: raise-memory-limit (confidence 0.92")
    assert answer.backend == "embedded"


async def test_the_memories_a_successful_fix_rested_on_are_reinforced(services: ServiceRunner, bus: BusClient) -> None:
    services.start("memory-bridge")
    await services.wait_running()
    await bus.publish(fixed("rem-1", "leaky-1"))
    first = (await recommended(bus)).recommendation
    assert first is not None

    async with recording(bus, bus.space.audit("memory-bridge")) as audits:
        await bus.publish(fixed("rem-2", "leaky-2", memory_ids=(first.memory_id,)))
        audit = await audits.wait_for(lambda m: json.loads(m.data)["remediation_id"] == "rem-2")

    assert json.loads(audit.data)["details"]["reinforced"] == first.memory_id
    listing: MemoryListing = await bus.request(bus.space.memory_list, MemoryListRequest(), MemoryListing, WAIT_S)
    counts = {r.memory_id: r.reinforcements for r in listing.records}
    assert counts[first.memory_id] == 1
    assert len(counts) == 2


async def test_a_remembered_pattern_raises_h10_when_its_trigger_fires_and_resolves_it_when_it_comes_true(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("memory-bridge")
    await services.wait_running()
    pattern = MemoryPattern(
        kind="correlation",
        trigger="A7",
        namespace="cto",
        service="redis",
        predicts="H6",
        probability=0.8,
        lag_s=300,
        prevention="raise the Redis connection limit",
    )
    insight = MemoryAdd(
        content="A7 in cto is followed by H6 on redis 80% of the time",
        type="semantic",
        metadata=MemoryMetadata(alert_type="A7", namespace="cto", pattern=pattern),
        salience=0.9,
    )
    added: MemoryAdded = await bus.request(bus.space.memory_add, insight, MemoryAdded, WAIT_S)
    now = dt.datetime.now(dt.UTC)

    async with recording(bus, bus.space.alerts("H10")) as h10s:
        await bus.publish(alert("A7", namespace="cto", starts_at=now))
        raised = await h10s.wait_for(lambda m: json.loads(m.data)["status"] == "firing", what="H10 raised")
        redis = ResourceRef(kind="Pod", namespace="cto", name="redis-0")
        await bus.publish(alert("H6", resource=redis, starts_at=now + dt.timedelta(minutes=3)))
        done = await h10s.wait_for(lambda m: json.loads(m.data)["status"] == "resolved", what="H10 resolved")

    h10 = json.loads(raised.data)
    assert (h10["generator"], h10["namespace"], h10["labels"]["predicts"]) == ("memory-bridge", "cto", "H6")
    assert h10["annotations"]["prevention"] == "raise the Redis connection limit"
    assert h10["annotations"]["confidence"] == "0.80"
    assert h10["evidence"][0]["ref"] == added.memory_id
    assert raised.headers["Healer-Alert-Id"] == "H10"
    assert json.loads(done.data)["annotations"]["outcome"] == "came true"


async def test_with_openmemory_configured_outcomes_live_there_and_recommendations_work_the_same(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    openmemory = FakeOpenMemory()
    http_peer.handler << openmemory.respond
    services.start("memory-bridge", env={"OPENMEMORY_URL": http_peer.url, "OPENMEMORY_API_KEY": openmemory.api_key})
    await services.wait_running()

    await bus.publish(fixed("rem-1", "leaky-7d4b9c6f5-abcde"))
    answer = await recommended(bus)

    assert answer.backend == "openmemory"
    assert answer.recommendation is not None
    assert answer.recommendation.confidence > 0.9
    (stored,) = openmemory.memories.values()
    assert stored["metadata"]["sector"] == "episodic"
    assert http_peer.received("GET", "/health"), "memory-bridge checks OpenMemory at start"


async def test_a_wrong_openmemory_key_is_answered_with_the_reason_not_a_timeout(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    http_peer.handler << FakeOpenMemory().respond
    services.start("memory-bridge", env={"OPENMEMORY_URL": http_peer.url, "OPENMEMORY_API_KEY": "not-the-key"})
    await services.wait_running()

    answer = await ask(bus, MemoryQuery(text="anything"))

    assert answer.error is not None
    assert "OPENMEMORY_API_KEY" in answer.error
