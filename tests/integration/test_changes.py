"""Changes (`healer.change.v1`) published anywhere on the event firehose are forwarded, validated, to
`healer.changes.<cluster>`: the low-volume subject the correlator and memory-bridge read for recent changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable

import pytest

from healer_common.contract.streams import EVENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, recording

pytestmark = pytest.mark.integration


def change(event_id: str) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": "argocd",
            "type": "healer.change.v1",
            "cluster": "prod-eu-1",
            "data": {
                "what": "deploy",
                "resource": {"kind": "Deployment", "namespace": "cto", "name": "gateway"},
                "from": "v1.4.2",
                "to": "v1.5.0",
            },
        }
    ).encode()


async def test_a_deploy_is_forwarded_once_to_its_clusters_change_subject(
    services: ServiceRunner, bus: BusClient
) -> None:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    services.start("detector")
    await services.wait_running()
    async with recording(bus, bus.space.all_changes) as seen:
        for _ in range(2):  # a sender's retry of the same event
            await bus.publish_raw(bus.space.custom_events("argocd"), change("deploy-42"))
        forwarded = await seen.wait_for(lambda m: True, what="forwarded change")
        await bus.publish_raw(bus.space.custom_events("argocd"), change("deploy-43"))
        await seen.wait_for(lambda m: json.loads(m.data)["id"] == "deploy-43", what="the next change forwarded")

    assert forwarded.subject == bus.space.changes("prod-eu-1")
    body = json.loads(forwarded.data)
    assert body["data"]["to"] == "v1.5.0"
    assert body["data"]["from"] == "v1.4.2"

    async def stored() -> list[str]:
        return [
            json.loads(m.data)["id"] async for m in bus.history(EVENTS, since, filter_subject=bus.space.all_changes)
        ]

    await eventually(lambda: stored_count(stored, 2), what="both changes stored")
    assert await stored() == ["deploy-42", "deploy-43"], "the retry is stored once"


async def stored_count(stored: Callable[[], Awaitable[list[str]]], count: int) -> bool:
    return len(await stored()) >= count
