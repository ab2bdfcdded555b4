"""The thin path through all six services, as a user sees it: an OOMKilled condition published on
`healer.events.custom.demo` becomes an H8 alert, an incident, a pod restart on the (emulated) cluster, a
console line and a signed webhook, and a remembered outcome; the pod's recovery resolves all of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from healer_cli.demo import condition_event
from healer_common.contract.memory import MemoryAnswer, MemoryQuery
from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.busclient import BusClient, RawMessage
from healer_common.settings import SERVICES
from healer_common.testing import (
    HttpPeer,
    KubeEmulator,
    Recorder,
    ServiceRunner,
    consumer_drained,
    eventually,
    partitions_drained,
    pod,
    recording,
)

pytestmark = pytest.mark.integration
WEBHOOK_SECRET = "s3cret-for-the-test"


def on(family: str, **fields: str):  # type: ignore[no-untyped-def]
    """A predicate on recorded messages: subject family and top-level JSON fields."""

    def match(msg) -> bool:  # type: ignore[no-untyped-def]
        if f".{family}." not in msg.subject:
            return False
        body = json.loads(msg.data)
        return all(body.get(k) == v for k, v in fields.items())

    return match


async def publish_condition(bus: BusClient, pod_name: str, reason: str) -> None:
    event = condition_event(pod_name, reason, source="demo-tests")
    await bus.publish_event(bus.space.custom_events("demo"), event)


@pytest.fixture
async def healer(kube: KubeEmulator, services: ServiceRunner, http_peer: HttpPeer, tmp_path):  # type: ignore[no-untyped-def]
    kube.put("", "v1", "pods", "cto", pod("cto", "rex-1", {"agent": "5DLabs-Rex"}))
    http_peer.handler["post /hook"] << {"ok": True}
    services.configure("cluster", kubeconfig=tmp_path / "kubeconfig")
    services.configure("notifier", webhook_url=f"{http_peer.url}/hook", webhook_secret=WEBHOOK_SECRET)
    services.start(*SERVICES)
    await services.wait_running()
    return services


async def test_oomkilled_pod_is_alerted_restarted_notified_and_remembered(
    healer: ServiceRunner, bus: BusClient, kube: KubeEmulator, http_peer: HttpPeer
) -> None:
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish_condition(bus, "cto/rex-1", "OOMKilled")

        alert_msg = await seen.wait_for(on("alerts", alert_id="H8", status="firing"), what="firing H8 alert")
        assert alert_msg.subject == bus.space.alerts("H8")
        alert = json.loads(alert_msg.data)
        assert alert["namespace"] == "cto"
        assert alert["labels"]["pod"] == "rex-1"
        assert alert["severity"] == "critical"
        assert len(alert["fingerprint"]) >= 8
        assert alert_msg.headers["Healer-Severity"] == "critical"

        await seen.wait_for(on("incidents", state="opened"), what="opened incident")
        acted = await seen.wait_for(on("remediations", state="acted"), what="remediation that acted")
        step = json.loads(acted.data)["steps"][0]
        assert step["outcome"] == "ok"
        assert step["api_calls"] == ["DELETE /api/v1/namespaces/cto/pods/rex-1"]
        assert kube.get("", "v1", "pods", "cto", "rex-1") is None, "the pod was not deleted on the cluster"
        assert ("DELETE", "/api/v1/namespaces/cto/pods/rex-1") in kube.mutating_requests()

        hooks = await eventually(lambda: http_peer.received("POST", "/hook"), what="webhook delivery")
        first = hooks[0]
        headers = {k.lower(): v for k, v in first.headers.items()}
        stamp = headers["x-healer-timestamp"]
        expected = hmac.new(WEBHOOK_SECRET.encode(), stamp.encode() + b"." + first.body, hashlib.sha256).hexdigest()
        assert headers["x-healer-signature"] == f"sha256={expected}"
        assert first.data["kind"] == "incident_opened"
        await eventually(
            lambda: "[OPENED] memory pressure: pod cto/rex-1" in healer.running["notifier"].log(),
            what="console notification",
        )

        await publish_condition(bus, "cto/rex-1", "Ready")
        await seen.wait_for(on("alerts", alert_id="H8", status="resolved"), what="resolved H8 alert")
        await seen.wait_for(on("incidents", state="resolved"), what="resolved incident")
        await seen.wait_for(on("remediations", state="succeeded"), what="verified remediation")
        await _assert_every_service_audited(seen)

    answer = await _remembered(bus, "H8 restart-pod rex-1")
    assert any(
        m.record.metadata.success is True and m.record.metadata.method == "restart"  # the action that healed it
        for m in answer.matches
    )


async def _assert_every_service_audited(seen: Recorder) -> None:
    for service in ("detector", "correlator", "remediator", "notifier", "memory-bridge"):
        await seen.wait_for(audited_by(service), what=f"audit from {service}")


def audited_by(service: str) -> Callable[[RawMessage], bool]:
    return lambda msg: msg.subject.endswith(f".audit.{service}")


async def _remembered(bus: BusClient, text: str) -> MemoryAnswer:
    async def ask() -> MemoryAnswer | None:
        answer: MemoryAnswer = await bus.request(bus.space.memory_query, MemoryQuery(text=text), MemoryAnswer, 5.0)
        return answer if any(m.record.metadata.success for m in answer.matches) else None

    found: MemoryAnswer = await eventually(ask, what="the outcome in memory")
    return found


async def test_repeated_condition_raises_one_alert_and_one_incident(
    healer: ServiceRunner, bus: BusClient, kube: KubeEmulator
) -> None:
    async with recording(bus, f"{bus.space.root}.>") as seen:
        for _ in range(3):
            await publish_condition(bus, "cto/rex-1", "OOMKilled")
        await seen.wait_for(on("remediations", state="acted"), what="remediation")
        await eventually(lambda: partitions_drained(bus), what="detector drained")
        await eventually(lambda: consumer_drained(bus, CORRELATOR_ALERTS), what="correlator drained")
        assert len([m for m in seen.messages if on("alerts", status="firing")(m)]) == 1
        assert len([m for m in seen.messages if on("incidents", state="opened")(m)]) == 1
        assert kube.mutating_requests().count(("DELETE", "/api/v1/namespaces/cto/pods/rex-1")) == 1
