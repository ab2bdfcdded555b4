"""Secrets never leak: with a planted value in every secret setting (channel tokens and keys, the webhook's URL
key and signing secret, SMTP and OpenMemory passwords, the remediator's webhook token, the credentials' tokens
and signing secret), the whole pipeline runs an incident end to end over HTTP ingest, a refused request and a
dead letter included; then none of the planted values appears in any service's log, in `healer config show`,
in any `/metrics`, in anything published on the bus (audit records and dead letters included), or in the body
of any notification the channels were sent (PagerDuty's `routing_key` field, which authorises the request it is
in, aside).
"""

from __future__ import annotations

import json

import httpx
import pytest

from healer_cli.demo import condition_event
from healer_common.clock import utcnow
from healer_common.contract.auth import signed_headers
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings
from healer_common.testing import HttpPeer, ServiceRunner, recording, run_healer
from tests.support.peers import serve_pagerduty, serve_slack

pytestmark = pytest.mark.integration

PLANTED = {
    "slack_token": "xoxb-PLANTED-slack-token-7c1d",
    "webhook_key": "PLANTED-webhook-key-3e9a",
    "webhook_secret": "PLANTED-webhook-secret-55b0",
    "pagerduty_routing_key": "PLANTED-pd-routing-key-8f21",
    "pagerduty_webhook_secret": "PLANTED-pd-webhook-secret-a4c6",
    "github_token": "ghp_PLANTED-github-token-19e7",
    "smtp_password": "PLANTED-smtp-password-6d3f",
    "openmemory_api_key": "PLANTED-openmemory-key-b7a2",
    "remediator_webhook_token": "PLANTED-remediator-token-0f4e",
    "ingest_token": "PLANTED-ingest-token-c83b",
    "signing_secret": "PLANTED-signing-secret-2aa9",
    "admin_token": "PLANTED-admin-token-e611",
    "refused_token": "PLANTED-refused-token-91dd",
}

JSON = {"content-type": "application/json"}


def planted_settings(services: ServiceRunner, peer: HttpPeer) -> Settings:
    settings = services.settings
    notifier = {
        "console": True,
        "slack_token": PLANTED["slack_token"],
        "slack_api_url": f"{peer.url}/slack/api/",
        "webhook_url": f"{peer.url}/hook?key={PLANTED['webhook_key']}",
        "webhook_secret": PLANTED["webhook_secret"],
        "pagerduty_routing_key": PLANTED["pagerduty_routing_key"],
        "pagerduty_events_url": f"{peer.url}/pd/v2/enqueue",
        "pagerduty_webhook_secret": PLANTED["pagerduty_webhook_secret"],
        "github_token": PLANTED["github_token"],
        "smtp_host": "127.0.0.1",
        "smtp_username": "healer",
        "smtp_password": PLANTED["smtp_password"],
    }
    credentials = [
        {
            "name": "ci",
            "token": PLANTED["ingest_token"],
            "signing_secret": PLANTED["signing_secret"],
            "roles": ["source"],
        },
        {"name": "root", "token": PLANTED["admin_token"], "roles": ["admin"]},
    ]
    return Settings.model_validate(
        {
            **settings.model_dump(exclude={"config"}),
            "notifier": {**settings.notifier.model_dump(), **notifier},
            "memory": {**settings.memory.model_dump(), "openmemory_api_key": PLANTED["openmemory_api_key"]},
            "remediator": {**settings.remediator.model_dump(), "webhook_token": PLANTED["remediator_webhook_token"]},
            "auth": {**settings.auth.model_dump(), "credentials": credentials},
        }
    )


def leaks(text: str, where: str) -> list[str]:
    return [f"{name} in {where}" for name, value in PLANTED.items() if value in text]


async def test_no_planted_secret_shows_in_logs_config_metrics_the_bus_or_notifications(
    services: ServiceRunner, bus: BusClient, http_peer: HttpPeer
) -> None:
    serve_slack(http_peer)
    serve_pagerduty(http_peer)
    http_peer.handler["post /hook"] << {"ok": True}
    services.settings = planted_settings(services, http_peer)
    services.start("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge")
    await services.wait_running()
    ingest = f"{await services.url('collector')}/events/ci"
    event = condition_event("cto/rex-1", "OOMKilled", source="leak-test").model_dump_json().encode()
    found: list[str] = []
    async with recording(bus, f"{bus.space.root}.>") as seen, httpx.AsyncClient() as http:
        refused = await http.post(
            ingest, content=event, headers={"Authorization": f"Bearer {PLANTED['refused_token']}"}
        )
        signed = await http.post(
            ingest, content=event, headers=signed_headers(PLANTED["signing_secret"], event, utcnow()) | JSON
        )
        with_token = await http.post(
            ingest, content=b"{not json", headers={"Authorization": f"Bearer {PLANTED['ingest_token']}"} | JSON
        )
        await bus.publish_raw(bus.space.custom_events("ci"), b"{not json", {"Nats-Msg-Id": "leak-test-bad"})
        assert (refused.status_code, signed.status_code, with_token.status_code) == (401, 202, 400)
        await seen.wait_for(lambda m: m.subject == bus.space.remediations("acted"), timeout=60, what="the run")
        await seen.wait_for(lambda m: ".dlq." in m.subject, what="the dead letter")
        await seen.wait_for(lambda m: m.subject == bus.space.audit("notifier"), timeout=30, what="a delivery")
        await seen.wait_for(lambda m: m.subject == bus.space.audit("collector"), what="the refusal audited")
        for name in services.running:
            metrics = (await http.get(f"{await services.url(name)}/metrics")).text
            found += leaks(metrics, f"{name}'s /metrics")
        found += leaks(
            "\n".join(m.data.decode(errors="replace") + json.dumps(m.headers) for m in seen.messages), "the bus"
        )

    assert http_peer.received("POST", "/hook"), "the webhook channel was sent notifications"
    assert http_peer.received("POST", "/slack/api/chat.postMessage"), "and Slack"
    # PagerDuty's Events API takes its routing key in the body it authorises: that field, and only it, carries it
    bodies = [r.data for r in http_peer.received() if r.data is not None]
    notifications = [
        json.dumps({k: v for k, v in b.items() if k != "routing_key"} if isinstance(b, dict) else b) for b in bodies
    ]
    found += leaks("\n".join(notifications), "notification bodies")
    for name, process in services.running.items():
        found += leaks(process.log(), f"{name}'s log")
    for args in (("config", "show"), ("config", "show", "--json")):
        code, out, err = await run_healer(services.config_path, *args)
        assert code == 0, err
        found += leaks(out + err, f"healer {' '.join(args)}")
    assert found == []
