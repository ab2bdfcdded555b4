"""`healer_incidents_open` and `healer_alerts_active` as an operator's dashboard reads them, counted from the
open incidents the correlator keeps in a real Redis, written as it writes them (its store's commands): the
counts follow incidents that open, change and close. An incident kept before the correlator wrote counts
beside it is counted from its alerts."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from healer_common.contract.incidents import Incident
from healer_common.runtime.leadership import Command, Leases
from healer_common.runtime.state import KeySpace
from healer_common.runtime.status import incident_alerts_key, open_incidents_key
from healer_common.settings import Settings
from services.correlator.adapters.incident_store import IncidentStore, header_of
from services.correlator.adapters.open_counts import OpenCounts
from services.correlator.folding import Unsaved
from services.correlator.notify_timing import NotifyState
from tests.support.correlator_samples import POLICY
from tests.support.samples import alert, incident, pod

pytestmark = pytest.mark.integration


async def save(redis: Redis, keys: KeySpace, stored: Incident) -> None:
    """As the correlator saves an open incident: its store's commands, applied."""
    unsaved = Unsaved(alerts={a.fingerprint for a in stored.alerts})
    await fenced(
        redis, keys, IncidentStore(redis, keys).save(stored, NotifyState(opened_at=stored.opened_at), None, unsaved)
    )


async def close(redis: Redis, keys: KeySpace, stored: Incident) -> None:
    await fenced(redis, keys, IncidentStore(redis, keys).close(stored, POLICY))


async def fenced(redis: Redis, keys: KeySpace, commands: list[Command]) -> None:
    """Written as the correlator writes: under the cluster's lease, in one fenced script."""
    leases = Leases(redis, keys, "open-counts-test")
    async with leases.held("correlator/cluster/test", 10.0, wait_s=10.0) as term:
        await leases.fenced(term, commands)


async def store(redis: Redis, keys: KeySpace, stored: Incident) -> None:
    """As a correlator from before the counts kept an open incident: its header, and each alert beside it."""
    await redis.hset(open_incidents_key(keys), stored.incident_id, header_of(stored).model_dump_json())
    for summary in stored.alerts:
        await redis.hset(incident_alerts_key(keys, stored.incident_id), summary.fingerprint, summary.model_dump_json())


def gauge(name: str, severity: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"severity": severity})


async def test_the_gauges_count_open_incidents_and_their_firing_alerts_by_severity_as_they_change(
    redis: Redis, healer_settings: Settings
) -> None:
    keys = KeySpace(healer_settings.redis.key_prefix)
    counts = OpenCounts(redis, keys)
    node = incident(
        alert("H8", severity="critical", resource=pod("a")),
        alert("H4", severity="warning", resource=pod("b")),
        alert("H5", severity="warning", resource=pod("c"), status="resolved"),
    ).evolve(incident_id="inc-node")
    disk = incident(alert("H6", severity="warning", resource=pod("d"))).evolve(incident_id="inc-disk")
    await save(redis, keys, node)
    await save(redis, keys, disk)

    first = await counts.refresh()
    first_gauges = gauge("healer_incidents_open", "critical"), gauge("healer_alerts_active", "warning")

    calmer = node.evolve(alerts=[a.model_copy(update={"status": "resolved"}) for a in node.alerts], revision=2)
    await save(redis, keys, calmer)
    await close(redis, keys, disk)
    after = await counts.refresh()

    assert first == ({"critical": 1, "warning": 1}, {"critical": 1, "warning": 2})
    assert first_gauges == (1.0, 2.0)
    assert after == ({"critical": 1}, {}), "the node's alerts resolved and the disk incident closed"
    assert (gauge("healer_incidents_open", "warning"), gauge("healer_alerts_active", "critical")) == (0.0, 0.0)


async def test_an_incident_kept_without_counts_is_counted_from_its_alerts(
    redis: Redis, healer_settings: Settings
) -> None:
    """An open incident a correlator from before the counts kept (header and alerts only) is counted, beside
    one saved with them, until its next revision writes them."""
    keys = KeySpace(healer_settings.redis.key_prefix)
    older = incident(
        alert("H8", severity="critical", resource=pod("a")), alert("H4", severity="warning", resource=pod("b"))
    ).evolve(incident_id="inc-older")
    newer = incident(alert("H6", severity="warning", resource=pod("d"))).evolve(incident_id="inc-newer")
    await store(redis, keys, older)
    await save(redis, keys, newer)

    counted = await OpenCounts(redis, keys).refresh()

    assert counted == ({"critical": 1, "warning": 1}, {"critical": 1, "warning": 2})
