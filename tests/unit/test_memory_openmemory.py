"""memory-bridge talking to OpenMemory over HTTP (a local peer in OpenMemory's documented shape): what it sends,
how it rides out rate limits and outages, and how it tells a configuration mistake from a passing fault.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from healer_common.clock import ManualClock
from healer_common.contract.memory import MemoryQuery
from healer_common.errors import ConfigError, Permanent, Retryable
from healer_common.settings import MemorySettings
from healer_common.testing import HttpPeer
from services.memory_bridge.adapters.openmemory_client import OpenMemoryClient
from services.memory_bridge.adapters.openmemory_store import OpenMemoryStore
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.outcomes import outcome_memory
from tests.support.openmemory_peer import FakeOpenMemory
from tests.support.samples import remediation


class Sleeps:
    """Stands in for asyncio.sleep: records how long the client chose to wait, and returns at once."""

    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


@pytest.fixture
def fake(http_peer: HttpPeer) -> FakeOpenMemory:
    server = FakeOpenMemory()
    http_peer.handler << server.respond
    return server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(http_peer: HttpPeer, fake: FakeOpenMemory, sleeps: Sleeps) -> AsyncIterator[OpenMemoryClient]:
    om = OpenMemoryClient(http_peer.url, fake.api_key, retries=3, sleep=sleeps)
    yield om
    await om.close()


def sent(peer: HttpPeer, method: str, path: str) -> list[dict[str, Any]]:
    return [r.data for r in peer.received(method, path)]


async def test_every_call_carries_the_api_key_and_no_user_id_unless_configured(
    client: OpenMemoryClient, http_peer: HttpPeer
) -> None:
    store = OpenMemoryStore(client, ManualClock())
    await MemoryBridge(store, ManualClock(), MemorySettings()).remember(outcome_memory(remediation()))

    (request,) = http_peer.received("POST", "/memory/add")
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-api-key"] == "om-test-key"
    assert headers["content-type"] == "application/json"
    assert "user_id" not in request.data


async def test_a_configured_user_id_scopes_adds_and_queries_for_older_servers(
    http_peer: HttpPeer, fake: FakeOpenMemory
) -> None:
    legacy = OpenMemoryClient(http_peer.url, fake.api_key, user_id="healer-prod")
    store = OpenMemoryStore(legacy, ManualClock())
    bridge = MemoryBridge(store, ManualClock(), MemorySettings())
    try:
        await bridge.remember(outcome_memory(remediation()))
        await bridge.answer(MemoryQuery(text="H8 rex-1"), [])
    finally:
        await legacy.close()

    assert [body["user_id"] for body in sent(http_peer, "POST", "/memory/add")] == ["healer-prod"]
    assert {body["user_id"] for body in sent(http_peer, "POST", "/memory/query")} == {"healer-prod"}


async def test_an_outcome_is_stored_in_its_sector_with_searchable_tags_and_the_whole_record(
    client: OpenMemoryClient, http_peer: HttpPeer
) -> None:
    bridge = MemoryBridge(OpenMemoryStore(client, ManualClock()), ManualClock(), MemorySettings())
    await bridge.remember(outcome_memory(remediation()))

    (body,) = sent(http_peer, "POST", "/memory/add")
    assert body["metadata"]["sector"] == "episodic"
    assert {"alert:H8", "ns:cto", "type:episodic", "playbook:restart-pod"} <= set(body["tags"])
    healer = body["metadata"]["healer"]
    assert healer["metadata"]["method"] == "restart-pod"
    assert healer["salience"] == 0.5


@pytest.mark.parametrize(("status", "error"), [(401, "authentication_required"), (403, "invalid_api_key")])
async def test_a_refused_key_is_a_configuration_error_that_names_the_variable(
    client: OpenMemoryClient, fake: FakeOpenMemory, sleeps: Sleeps, status: int, error: str
) -> None:
    fake.fail_next(status, {"error": error})

    with pytest.raises(ConfigError, match="OPENMEMORY_API_KEY"):
        await client.call("GET", "/memory/all")
    assert sleeps.waited == [], "a wrong key is not retried"


async def test_a_server_with_no_key_configured_is_a_configuration_error(
    client: OpenMemoryClient, fake: FakeOpenMemory
) -> None:
    fake.fail_next(503, {"error": "auth_not_configured"})

    with pytest.raises(ConfigError, match="OM_API_KEY"):
        await client.call("GET", "/memory/all")


async def test_a_rate_limited_call_waits_as_long_as_the_server_asks_then_succeeds(
    client: OpenMemoryClient, fake: FakeOpenMemory, sleeps: Sleeps
) -> None:
    fake.fail_next(429, {"error": "rate_limit_exceeded", "retry_after": 7})

    answer = await client.call("GET", "/memory/all")

    assert answer == {"items": []}
    assert sleeps.waited == [7.0]


async def test_a_brief_outage_is_ridden_out_with_growing_waits(
    client: OpenMemoryClient, fake: FakeOpenMemory, sleeps: Sleeps
) -> None:
    fake.fail_next(503, {"error": "unavailable"}, times=2)

    assert await client.call("GET", "/memory/all") == {"items": []}
    assert sleeps.waited == [0.5, 1.0]


async def test_an_outage_that_outlasts_the_retries_is_retryable(
    client: OpenMemoryClient, fake: FakeOpenMemory, sleeps: Sleeps
) -> None:
    fake.fail_next(503, {"error": "unavailable"}, times=10)

    with pytest.raises(Retryable, match="4 times: 503 unavailable"):
        await client.call("GET", "/memory/all")
    assert sleeps.waited == [0.5, 1.0, 2.0]


async def test_an_unreachable_server_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    om = OpenMemoryClient(f"http://127.0.0.1:{port}", "key", retries=1, sleep=sleeps)
    try:
        with pytest.raises(Retryable, match="ConnectError"):
            await om.call("GET", "/health")
    finally:
        await om.close()
    assert sleeps.waited == [0.5]


async def test_a_request_the_server_rejects_is_permanent(client: OpenMemoryClient) -> None:
    with pytest.raises(Permanent, match="400"):
        await client.call("POST", "/memory/query", body={"query": ""})


async def test_a_missing_memory_is_none(client: OpenMemoryClient) -> None:
    assert await client.call("GET", "/memory/no-such-id") is None


async def test_reinforcement_is_sent_to_openmemory_and_its_no_op_is_noticed(
    client: OpenMemoryClient, http_peer: HttpPeer
) -> None:
    store = OpenMemoryStore(client, ManualClock())
    bridge = MemoryBridge(store, ManualClock(), MemorySettings())
    added = await bridge.remember(outcome_memory(remediation()))

    (stronger,) = await bridge.reinforce([added.memory_id])

    assert sent(http_peer, "POST", "/memory/reinforce") == [{"id": added.memory_id, "boost": 0.15}]
    assert store.reinforce_effective is False, "OpenMemory's SQLite reinforce changes nothing at HEAD"
    assert stronger.salience == pytest.approx(0.65), "Healer's own salience is raised all the same"


async def test_openmemory_raising_salience_on_every_query_does_not_inflate_healers(
    client: OpenMemoryClient, fake: FakeOpenMemory
) -> None:
    bridge = MemoryBridge(OpenMemoryStore(client, ManualClock()), ManualClock(), MemorySettings())
    added = await bridge.remember(outcome_memory(remediation()))
    for _ in range(3):
        await bridge.answer(MemoryQuery(text="H8 restart-pod rex-1"), [])

    answer = await bridge.answer(MemoryQuery(text="H8 restart-pod rex-1"), [])

    assert fake.memories[added.memory_id]["salience"] == 1.0
    assert answer.matches[0].record.salience == 0.5


async def test_the_health_check_reports_the_servers_tier(client: OpenMemoryClient) -> None:
    health = await OpenMemoryStore(client, ManualClock()).health()

    assert (health["ok"], health["tier"]) == (True, "hybrid")
