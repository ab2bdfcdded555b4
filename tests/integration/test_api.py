"""The read API as a client meets it, against real NATS and Redis: lists read straight off the streams, newest
first, paged and filtered; the dashboard made of what the bus and Redis say; answers, acknowledgements and
silences going back through the bus; live updates as server-sent events; and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from healer_common.contract.alerts import Severity
from healer_common.contract.incidents import CauseCandidate
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.runtime.status import open_incidents_key
from healer_common.testing import ServiceRunner, bearer, recording
from tests.support.api_support import api_url, waiting_run
from tests.support.samples import alert, incident, pod

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(services: ServiceRunner) -> AsyncIterator[httpx.AsyncClient]:
    services.start("api")
    await services.wait_running("api")
    async with httpx.AsyncClient(base_url=await api_url(services.settings), timeout=10) as client:
        yield client


async def test_alerts_are_listed_newest_first_a_page_at_a_time_filtered_and_described_in_openapi(
    api: httpx.AsyncClient, bus: BusClient
) -> None:
    now = dt.datetime.now(dt.UTC)
    for n in range(120):
        severity: Severity = "critical" if n % 3 == 0 else "warning"
        sent = alert("H8" if n % 2 else "H4", severity=severity, resource=pod(f"rex-{n}"), starts_at=now)
        await bus.publish(sent)

    first = (await api.get("/api/v1/alerts", params={"limit": 50})).json()
    assert [a["resource"]["name"] for a in first["items"]] == [f"rex-{n}" for n in range(119, 69, -1)]
    second = (await api.get("/api/v1/alerts", params={"limit": 50, "cursor": first["next"]})).json()
    assert [a["resource"]["name"] for a in second["items"]] == [f"rex-{n}" for n in range(69, 19, -1)]
    last = (await api.get("/api/v1/alerts", params={"limit": 50, "cursor": second["next"]})).json()
    assert len(last["items"]) == 20
    assert last["next"] is None

    critical_h8 = (await api.get("/api/v1/alerts", params={"alert_id": "H8", "severity": "critical"})).json()
    assert {(a["alert_id"], a["severity"]) for a in critical_h8["items"]} == {("H8", "critical")}
    assert len(critical_h8["items"]) == 20  # odd multiples of 3 below 120

    recent = (await api.get("/api/v1/alerts", params={"since": "10m"})).json()
    assert len(recent["items"]) == 100  # the default page
    future = (await api.get("/api/v1/alerts", params={"since": (now + dt.timedelta(hours=1)).isoformat()})).json()
    assert future == {"items": [], "next": None}

    wrong = await api.get("/api/v1/alerts", params={"severity": "loud"})
    assert wrong.status_code == 400
    assert "severity='loud' is not one of info, warning, critical" in wrong.json()["error"]

    document = (await api.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    assert {"/api/v1/alerts", "/api/v1/dashboard", "/api/v1/approvals/{remediation_id}"} <= set(document["paths"])
    listing = document["paths"]["/api/v1/alerts"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"alert_id", "severity", "since", "until", "limit", "cursor"}
    assert {"Alert", "DashboardView", "ApprovalAnswer"} <= set(document["components"]["schemas"])


async def test_the_dashboard_shows_an_incident_its_cause_and_what_waits_and_answers_go_to_the_bus(
    api: httpx.AsyncClient, bus: BusClient, services: ServiceRunner
) -> None:
    now = dt.datetime.now(dt.UTC)
    fired = alert("H8", starts_at=now)
    opened = incident(fired).evolve(
        incident_id="inc-api-1",
        causes=[CauseCandidate(kind="alert", description="rex-1 ran out of memory", score=0.8).model_dump()],
        time=now,
    )
    await bus.publish(fired)
    await bus.publish(opened)
    await bus.publish(waiting_run("rem-api-1", "inc-api-1", now))

    view = (await api.get("/api/v1/dashboard")).json()
    [card] = view["incidents"]
    assert card["incident_id"] == "inc-api-1"
    assert card["cause"]["description"] == "rex-1 ran out of memory"
    assert card["remediation"]["state"] == "awaiting_approval"
    [row] = view["alerts"]
    assert row["action"] == "pending: requires attention (approval waiting)"
    [waiting] = view["approvals"]
    assert waiting["summary"] == "roll deployment cto/gw back to revision 4"
    tiles = {t["key"]: t for t in view["tiles"]}
    assert (tiles["infra"]["state"], tiles["infra"]["count"]) == ("critical", 1)
    assert view["health"]["state"] == "degraded"  # only the api runs in this test

    oncall = bearer(services.settings, "test-oncall")
    anonymous = await api.post("/api/v1/approvals/rem-api-1", json={"decision": "approve", "by": "alice"})
    assert anonymous.status_code == 401, "acting through the API needs a credential"
    async with recording(bus, bus.space.all_approvals, bus.space.all_acks) as seen:
        body = {"decision": "approve", "by": "alice"}
        approved = await api.post("/api/v1/approvals/rem-api-1", json=body, headers=oncall)
        assert approved.status_code == 202, approved.text
        acked = await api.post(
            "/api/v1/incidents/inc-api-1/ack", json={"by": "alice", "reason": "on it"}, headers=oncall
        )
        assert acked.status_code == 202, acked.text
        decision = await seen.wait_for(lambda m: m.subject == bus.space.approvals("rem-api-1"), what="the approval")
        ack = await seen.wait_for(lambda m: m.subject == bus.space.acks("inc-api-1"), what="the ack")
    assert json.loads(decision.data)["by"] == "test-oncall", "who answered is the credential, not the body's name"
    assert json.loads(decision.data)["attestation"] is not None, "signed for the remediator to check"
    assert (json.loads(ack.data)["source"], json.loads(ack.data)["by"]) == ("http", "test-oncall")

    nothing = await api.post("/api/v1/approvals/rem-nope", json={"decision": "deny", "by": "alice"}, headers=oncall)
    assert nothing.status_code == 409
    assert "no remediation rem-nope waits" in nothing.json()["error"]

    silence = {"matchers": ["alertname=H8", "namespace=cto"], "duration_s": 3600, "reason": "mending", "author": "al"}
    made = (await api.post("/api/v1/silences", json=silence, headers=oncall)).json()
    assert made["author"] == "test-oncall"
    listed = (await api.get("/api/v1/silences")).json()
    assert [s["silence_id"] for s in listed] == [made["silence_id"]]
    ended = (await api.delete(f"/api/v1/silences/{made['silence_id']}", headers=oncall)).json()
    assert ended["expired_by"] == "test-oncall"

    detail = (await api.get("/api/v1/incidents/inc-api-1")).json()
    assert [r["remediation_id"] for r in detail["remediations"]] == ["rem-api-1"]
    assert {(a["action"], a["decision"]) for a in detail["audit"]} >= {("ack", "acknowledged")}


async def test_a_published_incident_reaches_a_watching_dashboard_within_a_second(
    api: httpx.AsyncClient, bus: BusClient, healer_settings: Any
) -> None:
    views: list[dict[str, Any]] = []
    async with api.stream("GET", "/api/v1/dashboard/stream") as stream:
        lines = stream.aiter_lines()

        async def next_view() -> dict[str, Any]:
            async for line in lines:
                if line.startswith("data: "):
                    return dict(json.loads(line.removeprefix("data: ")))
            raise AssertionError("the stream ended")

        views.append(await next_view())
        assert views[0]["incidents"] == []
        now = dt.datetime.now(dt.UTC)
        published = time.monotonic()
        await bus.publish(incident(alert("H8", starts_at=now)).evolve(incident_id="inc-live-1", time=now))
        while not views[-1]["incidents"]:
            views.append(await next_view())
        took = time.monotonic() - published
    assert views[-1]["incidents"][0]["incident_id"] == "inc-live-1"
    assert took < 1.0, f"the incident took {took:.2f}s to reach the dashboard"

    redis = connect_redis(healer_settings)
    try:  # what the correlator holds open is what the list of open incidents shows
        stored = incident(alert("H4")).evolve(incident_id="inc-stored-1")
        await redis.hset(
            open_incidents_key(KeySpace(healer_settings.redis.key_prefix)), "inc-stored-1", stored.model_dump_json()
        )
        listed = (await api.get("/api/v1/incidents")).json()
        assert [i["incident_id"] for i in listed["items"]] == ["inc-stored-1"]
    finally:
        await redis.aclose()
