"""Nobody without credentials makes Healer act over HTTP: the collector's ingest and the notifier's
acknowledgements refuse anonymous, unknown, forged, stale and replayed requests with 401 (a credential without
the scope with 403), publish nothing, count each refusal in `healer_http_refused_total` and audit it; a
bearer token or a fresh signature with the right scope gets through, and the credential is who acted.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest
from pydantic import SecretStr

from healer_cli.demo import condition_event
from healer_common.clock import utcnow
from healer_common.contract.auth import Credential, signed_headers
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, bearer, recording, signing_secret
from tests.support.remediation_helpers import audit

pytestmark = pytest.mark.integration


def refused_count(metrics: str, route: str, status: int, reason: str) -> float:
    prefix = f'healer_http_refused_total{{reason="{reason}",route="{route}",service="'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith(prefix) and f'status="{status}"' in line
    )


async def test_ingest_refuses_whoever_cannot_prove_a_credential_and_publishes_nothing(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("collector")
    await services.wait_running("collector")
    url = f"{await services.url('collector')}/events/ci"
    body = condition_event("cto/rex-1", "OOMKilled", source="auth-test").model_dump_json().encode()
    secret = signing_secret(services.settings)
    json_type = {"content-type": "application/json"}
    fresh = signed_headers(secret, body, utcnow())
    stale = signed_headers(secret, body, utcnow() - dt.timedelta(minutes=10))

    async with recording(bus, bus.space.all_events, bus.space.audit("collector")) as seen:
        async with httpx.AsyncClient(headers=json_type) as http:
            anonymous = await http.post(url, content=body)
            unknown = await http.post(url, content=body, headers={"Authorization": "Bearer not-a-token"})
            forged = await http.post(url, content=body, headers={**fresh, "X-Healer-Signature": "sha256=" + "0" * 64})
            old = await http.post(url, content=body, headers=stale)
            wrong_scope = await http.post(url, content=body, headers=bearer(services.settings, "test-oncall"))
            assert [r.status_code for r in (anonymous, unknown, forged, old, wrong_scope)] == [401, 401, 401, 401, 403]
            assert not [m for m in seen.messages if ".events." in m.subject], "nothing refused reaches the bus"

            signed = await http.post(url, content=body, headers=fresh)
            replayed = await http.post(url, content=body, headers=fresh)
            with_token = await http.post(url, content=body, headers=bearer(services.settings, "test-source"))
            metrics = (await http.get(url.rsplit("/events", 1)[0] + "/metrics")).text

        assert signed.status_code == 202, signed.text
        assert replayed.status_code == 401
        assert "replay" in replayed.json()["error"]
        assert with_token.status_code == 202, with_token.text
        assert anonymous.json()["error"].startswith("send Authorization: Bearer <token>")
        assert wrong_scope.json()["error"] == "credential 'test-oncall' lacks scope 'ingest'"
        assert "replay window" in old.json()["error"]
        await seen.wait_count(lambda m: bus.space.without_partition(m.subject) == bus.space.custom_events("ci"), 2)
        await seen.wait_count(audit("http_request", "refused", service="collector"), 6)

    route = "/events/{source}"
    for status, reason in [
        (401, "missing"),
        (401, "invalid_token"),
        (401, "bad_signature"),
        (401, "stale_signature"),
        (403, "forbidden"),
        (401, "replayed"),
    ]:
        assert refused_count(metrics, route, status, reason) == 1.0, (status, reason)
    refusals = [json.loads(m.data) for m in seen.messages if audit("http_request", "refused", service="collector")(m)]
    assert {r["target"] for r in refusals} == {"POST /events/{source}"}
    assert any(r["details"]["credential"] == "test-oncall" for r in refusals)


async def test_an_acknowledgement_over_http_is_by_the_tokens_credential(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.start("notifier")
    await services.wait_running("notifier")
    url = f"{await services.url('notifier')}/acks/inc-42"
    async with recording(bus, bus.space.acks("inc-42")) as seen, httpx.AsyncClient() as http:
        anonymous = await http.post(url, json={"reason": "mine"})
        taken = await http.post(
            url, json={"reason": "mine", "by": "someone-else"}, headers=bearer(services.settings, "test-oncall")
        )
        ack = await http.post(url, json={"reason": "mine"}, headers=bearer(services.settings, "test-oncall"))
        assert anonymous.status_code == 401
        assert taken.status_code == 400, "a body may not name who acknowledges"
        assert ack.status_code == 202, ack.text
        published = json.loads((await seen.wait_for(lambda m: True, what="the IncidentAck")).data)
    assert (published["by"], published["source"], published["reason"]) == ("test-oncall", "http", "mine")


async def test_a_signed_acknowledgement_keeps_its_body_and_an_empty_one_is_still_an_ack(
    services: ServiceRunner, bus: BusClient
) -> None:
    """The gate reads a signed request's body to check it; the route must still get that body (it used to get b""
    once the gate read it within the limits), and an ack's empty body stays valid."""
    pager_bot = Credential(name="pager-bot", signing_secret=SecretStr("s" * 32), roles=["oncall"])
    services.configure("auth", credentials=[*services.settings.auth.credentials, pager_bot])
    services.start("notifier")
    await services.wait_running("notifier")
    url = f"{await services.url('notifier')}/acks/inc-7"
    body = json.dumps({"reason": "on it"}).encode()
    async with recording(bus, bus.space.acks("inc-7")) as seen, httpx.AsyncClient() as http:
        signed = await http.post(url, content=body, headers=signed_headers("s" * 32, body, utcnow()))
        empty = await http.post(url.replace("inc-7", "inc-8"), headers=bearer(services.settings, "test-oncall"))
        assert signed.status_code == 202, signed.text
        assert empty.status_code == 202, empty.text
        published = json.loads((await seen.wait_for(lambda m: True, what="the signed IncidentAck")).data)
    assert (published["by"], published["reason"]) == ("pager-bot", "on it")
