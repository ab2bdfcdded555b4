"""`healer history` reads alerts, incidents and remediations back from JetStream by time, with no service
running: oldest first, filtered by namespace, alerts alone on request, and as JSON lines for scripts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import write_settings
from services.correlator.grouping import group_for
from services.correlator.revision import open_incident
from tests.support.correlator_bus import healer
from tests.support.correlator_samples import POLICY, pod_alert, resolved
from tests.support.samples import remediation

pytestmark = pytest.mark.integration


async def history(settings: Settings, tmp_path: Path, *args: str) -> list[str]:
    return (await healer(write_settings(settings, tmp_path / "healer.yaml"), "history", *args)).splitlines()


async def test_history_reads_alerts_incidents_and_remediations_back_by_time(
    bus: BusClient, healer_settings: Settings, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    oom = pod_alert("rex-1", namespace="cto", starts_at=now)
    other = pod_alert("web-1", namespace="shop", starts_at=now)
    incident = open_incident(oom, group_for(oom.labels, oom.cluster, POLICY), now)
    for message in (oom, incident, remediation("acted"), other, resolved(oom, now)):
        await bus.publish(message)

    everything = await history(healer_settings, tmp_path, "--since", "1h")
    in_cto = [
        json.loads(line)
        for line in await history(healer_settings, tmp_path, "--since", "1h", "--namespace", "cto", "--json")
    ]
    alerts_only = await history(healer_settings, tmp_path, "--since", "1h", "--alerts-only")

    assert [line.split()[2] for line in everything] == ["alert", "incident", "remediation", "alert", "alert"]
    assert "H8 firing critical  memory pressure: pod cto/rex-1 reported OOMKilled" in everything[0]
    assert f"{incident.incident_id} opened rev 1 critical" in everything[1]
    assert "rem-1 acted restart-pod on cto/rex-1" in everything[2]
    assert [(e["kind"], e["message"].get("status") or e["message"].get("state")) for e in in_cto] == [
        ("alert", "firing"),
        ("incident", "opened"),
        ("remediation", "acted"),
        ("alert", "resolved"),
    ]
    assert [line.split()[2] for line in alerts_only] == ["alert", "alert", "alert"]


async def test_history_since_a_moment_after_everything_is_empty(
    bus: BusClient, healer_settings: Settings, tmp_path: Path
) -> None:
    await bus.publish(pod_alert("rex-1", starts_at=dt.datetime.now(dt.UTC)))

    assert await history(healer_settings, tmp_path, "--since", "1h", "--alerts-only") != []
    assert await history(healer_settings, tmp_path, "--since", "0.001s", "--alerts-only") == []
