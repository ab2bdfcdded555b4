"""Escalation as the people on call live it: level 1 at once, level 2 (PagerDuty) after its delay when nobody
acknowledges, and nothing more once someone does, with `healer ack` or on PagerDuty itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
from typing import Any

import httpx
import pytest

from healer_common.contract.incidents import Incident
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import HttpPeer, Recorder, ServiceRunner, eventually, recording
from services.notifier.channels import SAMPLES
from tests.support.peers import PD_ENQUEUE, bodies, serve_pagerduty, use_notifier
from tests.support.samples import alert, incident, pod

pytestmark = pytest.mark.integration
LEVEL_2_S = 4.0
PD_SECRET = "pd-webhook-secret-for-tests"


def opened(incident_id: str) -> Incident:
    return incident(alert("H8", resource=pod(incident_id))).evolve(incident_id=incident_id, notify=True)


@pytest.fixture
async def notifier(services: ServiceRunner, http_peer: HttpPeer) -> ServiceRunner:
    """Webhook hears everything; escalation `page`: level 1 the webhook at once, level 2 PagerDuty later."""
    serve_pagerduty(http_peer)
    http_peer.handler["post /hook"] << {"ok": True}
    use_notifier(
        services,
        http_peer,
        webhook_url=f"{http_peer.url}/hook",
        receivers={"chat": ["webhook"]},
        route={"receiver": "chat", "escalation": "page"},
        escalations={
            "page": {"levels": [{"delay": 0, "channels": ["webhook"]}, {"delay": LEVEL_2_S, "channels": ["pagerduty"]}]}
        },
        pagerduty_webhook_secret=PD_SECRET,
    )
    services.start("notifier")
    await services.wait_running("notifier")
    return services


def hooks(peer: HttpPeer, kind: str, incident_id: str) -> list[dict[str, Any]]:
    return bodies(peer, "/hook", lambda b: b["kind"] == kind and b["incident_id"] == incident_id)


def paged(peer: HttpPeer, incident_id: str) -> list[dict[str, Any]]:
    return bodies(peer, PD_ENQUEUE, lambda b: b["dedup_key"] == incident_id)


async def escalation_stopped(audits: Recorder, incident_id: str) -> dict[str, Any]:
    def stopped(msg: Any) -> bool:
        body = json.loads(msg.data)
        return bool(
            body.get("action") == "escalate" and body["decision"] == "stopped" and body["target"] == incident_id
        )

    return dict(json.loads((await audits.wait_for(stopped, what=f"escalation of {incident_id} stopped")).data))


async def healer_ack(runner: ServiceRunner, incident_id: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEALER_")}
    cli = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "healer_cli", "ack", incident_id, "--config", str(runner.config_path), *args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**env, "COLUMNS": "200"},
    )
    out, _ = await asyncio.wait_for(cli.communicate(), timeout=60)
    assert cli.returncode == 0, out.decode()
    return out.decode()


async def test_escalation_reaches_level_two_after_its_delay_unless_someone_acknowledges(
    notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(opened("inc-acked"))
        await eventually(lambda: hooks(http_peer, "escalation", "inc-acked"), what="level 1 of inc-acked")
        said = await healer_ack(notifier, "inc-acked", "--by", "jane", "--reason", "looking")
        assert "acknowledged inc-acked as jane" in said
        stopped = await escalation_stopped(audits, "inc-acked")
        assert stopped["reason"] == "acknowledged by jane via cli"

        await bus.publish(opened("inc-ignored"))
        await eventually(lambda: paged(http_peer, "inc-ignored"), timeout=60, what="level 2 of inc-ignored")

    (level_two,) = paged(http_peer, "inc-ignored")
    assert level_two["event_action"] == "trigger"
    assert level_two["payload"]["custom_details"]["escalation_level"] == "2"
    assert paged(http_peer, "inc-acked") == [], (
        "level 2 of the acknowledged incident never came, though it was due first"
    )
    (told,) = hooks(http_peer, "incident_acknowledged", "inc-acked")
    assert told["text"] == "Acknowledged by jane via cli (looking); escalation stopped."


async def test_resolution_stops_escalation(notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer) -> None:
    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(opened("inc-healed"))
        await eventually(lambda: hooks(http_peer, "escalation", "inc-healed"), what="level 1")
        await bus.publish(opened("inc-healed").evolve(state="resolved", revision=2, event_id="resolved-1"))

        assert (await escalation_stopped(audits, "inc-healed"))["reason"] == "resolved"


async def test_an_acknowledgement_on_pagerduty_stops_escalation_through_the_signed_webhook(
    notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    body = (SAMPLES / "pagerduty_webhook_acknowledged.json").read_bytes()  # incident_key: inc-1
    url = f"{await notifier_url(notifier)}/pagerduty/webhook"
    good = "v1=" + hmac.new(PD_SECRET.encode(), body, hashlib.sha256).hexdigest()

    async with recording(bus, bus.space.audit("notifier"), bus.space.acks("inc-1")) as seen:
        await bus.publish(opened("inc-1"))
        await eventually(lambda: hooks(http_peer, "escalation", "inc-1"), what="level 1")
        async with httpx.AsyncClient() as client:
            forged = await client.post(url, content=body, headers={"X-PagerDuty-Signature": "v1=00ff"})
            accepted = await client.post(url, content=body, headers={"X-PagerDuty-Signature": good})

        assert forged.status_code == 401
        assert accepted.status_code == 202
        stopped = await escalation_stopped(seen, "inc-1")
        assert stopped["reason"] == "acknowledged by Jane Oncall via pagerduty"
        assert [json.loads(m.data)["source"] for m in seen.messages if ".acks." in m.subject] == ["pagerduty"]


async def notifier_url(runner: ServiceRunner) -> str:
    redis = connect_redis(runner.settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(runner.settings.redis.key_prefix))
    finally:
        await redis.aclose()
    (beat,) = [b for b in beats if b.service == "notifier"]
    return beat.detail["http"]


async def test_escalation_timers_survive_a_restart_of_the_notifier(
    notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    await bus.publish(opened("inc-restart"))
    await eventually(lambda: hooks(http_peer, "escalation", "inc-restart"), what="level 1")
    assert notifier.stop("notifier") == 0

    notifier.start("notifier")
    await notifier.wait_running("notifier")

    await eventually(lambda: paged(http_peer, "inc-restart"), timeout=60, what="level 2 after the restart")
    assert len(hooks(http_peer, "escalation", "inc-restart")) == 1, "level 1 was not sent again"
