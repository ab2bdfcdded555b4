"""What the audit trail holds of alerts, as `healer audit` shows it: the decision of each of Healer's own rules,
and not the alerts it only relays from an Alertmanager webhook (Alertmanager decided those; their record is the
alert on `healer.alerts.*`, and an audit record each doubled what a storm of them publishes)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from healer_common.runtime.busclient import BusClient
from healer_common.testing import Recorder, ServiceRunner, eventually, recording

pytestmark = pytest.mark.integration


def condition(reason: str, pod: str) -> bytes:
    return json.dumps(
        {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "tests",
            "type": "healer.condition.v1",
            "data": {"resource": {"kind": "Pod", "namespace": "shop", "name": pod}, "reason": reason, "message": ""},
        }
    ).encode()


def webhook(pod: str) -> bytes:
    alert = {
        "status": "firing",
        "labels": {"alertname": "DiskSlow", "namespace": "shop", "pod": pod, "severity": "warning"},
        "startsAt": dt.datetime.now(dt.UTC).isoformat(),
    }
    return json.dumps({"version": "4", "receiver": "team", "status": "firing", "alerts": [alert]}).encode()


def alerts_in(seen: Recorder) -> list[dict[str, Any]]:
    return [json.loads(m.data) for m in seen.messages if ".alerts." in m.subject]


async def test_a_rule_s_alert_is_audited_and_a_relayed_alertmanager_alert_is_not(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.configure("detector", condition_alerts={"ImageGone": "A7"})
    services.start("detector")
    await services.wait_running()

    async with recording(bus, f"{bus.space.root}.>") as seen:
        await bus.publish_raw(bus.space.alertmanager("team"), webhook("relayed-1"), {"Nats-Msg-Id": "relay-1"})
        await bus.publish_raw(bus.space.custom_events("tests"), condition("ImageGone", "ruled-1"), {})
        ruled = await seen.wait_for(lambda m: m.subject.endswith(".audit.detector"), what="the rule's audit record")
        await eventually(lambda: len(alerts_in(seen)) == 2, timeout=10, what="both alerts")

    by_pod = {a["resource"]["name"]: a for a in alerts_in(seen)}
    assert {a["alert_id"] for a in by_pod.values()} == {"EXT", "A7"}
    record = json.loads(ruled.data)
    assert (record["action"], record["target"]) == ("alert_A7", "pod shop/ruled-1")
    assert [m for m in seen.messages if m.subject.endswith(".audit.detector") and "relayed-1" in m.data.decode()] == []
