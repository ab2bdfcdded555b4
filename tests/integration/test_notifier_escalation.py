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
from healer_common.contract.remediations import Remediation, RemediationStep
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.testing import HttpPeer, Recorder, ServiceRunner, eventually, recording
from services.notifier.channels import SAMPLES
from tests.support.peers import PD_ENQUEUE, bodies, serve_pagerduty, serve_slack, use_notifier
from tests.support.samples import T0, alert, incident, pod, remediation

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


def escalate_step(incident_id: str, channel: str | None = None) -> Remediation:
    """A run whose last step escalated, as the remediator publishes it (alert_escalate: the seed's name)."""
    step = RemediationStep(
        action="alert_escalate" if channel else "escalate",
        params={"channel": channel} if channel else {},
        outcome="ok",
        detail="escalated: Healer could not heal pod cto/rex-1; a person is needed",
        started_at=T0,
    )
    run = remediation("acted").evolve(incident_id=incident_id, remediation_id=f"rem-{incident_id}")
    return run.evolve(steps=[*run.steps, step], event_id=f"escalated-{incident_id}")


@pytest.fixture
async def seed_notifier(services: ServiceRunner, http_peer: HttpPeer) -> ServiceRunner:
    """No escalation configured: the seed's policy (Slack now, Slack and PagerDuty at 15 m, PagerDuty at 30 m)."""
    serve_pagerduty(http_peer)
    serve_slack(http_peer)
    use_notifier(services, http_peer, github_token=None, github_repo=None)
    services.start("notifier")
    await services.wait_running("notifier")
    return services


async def test_an_escalate_step_raises_the_incident_to_the_next_level_at_once_and_an_ack_stops_it(
    seed_notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    async with recording(bus, bus.space.audit("notifier")) as audits:
        await bus.publish(opened("inc-stuck"))
        await eventually(lambda: bodies(http_peer, "/slack/api/chat.postMessage"), what="the incident on Slack")
        assert paged(http_peer, "inc-stuck") == [], "the seed's level 2 is 15 minutes away"
        await bus.publish(escalate_step("inc-stuck"))
        await eventually(lambda: paged(http_peer, "inc-stuck"), timeout=30, what="level 2 on PagerDuty at once")

        await bus.publish(opened("inc-taken"))
        await healer_ack(seed_notifier, "inc-taken", "--by", "jane")
        await escalation_stopped(audits, "inc-taken")
        await bus.publish(escalate_step("inc-taken", channel="pagerduty"))

        def refused(msg: Any) -> bool:
            body = json.loads(msg.data)
            return bool(body.get("decision") == "skipped" and body["target"] == "inc-taken")

        skipped = json.loads((await audits.wait_for(refused, what="the taken incident not escalated")).data)

    (level_two,) = paged(http_peer, "inc-stuck")
    assert level_two["payload"]["custom_details"]["escalation_level"] == "2"
    assert level_two["payload"]["custom_details"]["escalation_levels"] == "3", "the seed's three levels"
    assert skipped["reason"] == "not escalated: acknowledged by jane via cli"
    assert paged(http_peer, "inc-taken") == [], "an acknowledged incident is never paged"


async def test_pagerduty_hears_only_of_critical_incidents_by_default(
    seed_notifier: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    warning = incident(alert("H7", severity="warning", resource=pod("queue"))).evolve(
        incident_id="inc-warning", notify=True
    )
    await bus.publish(warning)
    await bus.publish(opened("inc-critical"))
    await eventually(lambda: len(bodies(http_peer, "/slack/api/chat.postMessage")) >= 2, what="both on Slack")
    await bus.publish(escalate_step("inc-critical"))
    await eventually(lambda: paged(http_peer, "inc-critical"), timeout=40, what="the critical incident paged")
    await bus.publish(escalate_step("inc-warning"))
    await eventually(
        lambda: any(
            "ESCALATED" in str(b) and "queue" in str(b) for b in bodies(http_peer, "/slack/api/chat.postMessage")
        ),
        what="the warning's level 2 on Slack",
    )

    assert paged(http_peer, "inc-warning") == [], "a warning escalates on Slack, never on PagerDuty"
