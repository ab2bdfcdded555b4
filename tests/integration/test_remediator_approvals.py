"""A rollback needs a human's approval: it waits (changing nothing), then proceeds or stops according to the
answer (`healer approve`, the HTTP endpoint, or `healer.approvals.<id>`), or to its timeout policy."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from healer_common.clock import utcnow
from healer_common.contract.auth import attest
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import new_id
from healer_common.contract.remediations import ApprovalDecision
from healer_common.runtime.busclient import BusClient
from healer_common.settings.remediator import ApprovalLevel
from healer_common.testing import KubeEmulator, ServiceRunner, bearer, recording, token_of
from tests.support.cluster_objects import seed_deployment
from tests.support.remediation_helpers import (
    audit,
    cluster_changes,
    healer,
    opened,
    publish,
    remediation,
    resolved,
    start_remediator,
)

pytestmark = pytest.mark.integration


def image_of(kube: KubeEmulator, name: str) -> str:
    deployment = kube.get("apps", "v1", "deployments", "cto", name)
    assert deployment is not None
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.fixture
def bad_image(kube: KubeEmulator) -> ResourceRef:
    """Deployment cto/web at revision 3 (app:3, whose image cannot be pulled), revisions 1 and 2 kept."""
    _, pod = seed_deployment(kube, "cto", "web", revisions=3)
    return ResourceRef(kind="Pod", namespace="cto", name=pod["metadata"]["name"])


async def test_an_approved_rollback_waits_then_rolls_back_and_is_verified(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, bad_image: ResourceRef, tmp_path: Path
) -> None:
    await start_remediator(services, tmp_path)
    incident = opened("inc-approve", bad_image, "H4")
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, incident)
        asked = json.loads((await seen.wait_for(remediation("awaiting_approval"), what="approval request")).data)
        assert asked["approval"]["api_calls"] == [
            "PATCH /apis/apps/v1/namespaces/cto/deployments/web (spec.template of revision 2)"
        ]
        assert asked["approval"]["on_timeout"] == "deny"
        assert cluster_changes(kube) == [], "nothing changes while the rollback waits"

        code, output = await healer(services, "approve", asked["remediation_id"], "--reason", "bad tag")
        assert code == 0, output
        assert f"approved {asked['remediation_id']} as test-admin" in output

        await seen.wait_for(remediation("approved"), what="approved run")
        acted = json.loads((await seen.wait_for(remediation("acted"), what="rollback")).data)
        assert acted["steps"][-1]["detail"] == "roll back deployment cto/web from revision 3 to revision 2"
        assert image_of(kube, "web") == "app:2"
        await publish(bus, resolved(incident))
        await seen.wait_for(remediation("succeeded"), what="verified rollback")
        approval = await seen.wait_for(audit("rollback_deployment", "approved"), what="audited approval")
        assert "approved by test-admin: bad tag" in json.loads(approval.data)["reason"]


async def test_a_rollback_denied_over_http_stops_and_changes_nothing(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, bad_image: ResourceRef, tmp_path: Path
) -> None:
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-deny", bad_image, "H4"))
        asked = json.loads((await seen.wait_for(remediation("awaiting_approval"), what="approval request")).data)
        endpoint = next(w for w in asked["approval"]["answer_with"] if w.startswith("POST ")).split()[1]

        oncall = bearer(services.settings, "test-oncall")
        async with httpx.AsyncClient(headers=oncall) as http:
            waiting = (await http.get(endpoint.rsplit("/", 1)[0])).json()["awaiting_approval"]
            assert [r["remediation_id"] for r in waiting] == [asked["remediation_id"]]
            answer = await http.post(endpoint, json={"decision": "deny", "by": "bob", "reason": "not during the sale"})
            assert answer.status_code == 202, answer.text
            again = await http.post(endpoint, json={"decision": "approve", "by": "eve"})

        denied = json.loads((await seen.wait_for(remediation("denied"), what="denied run")).data)
        assert denied["reason"] == "rollback_deployment denied by test-oncall: not during the sale", (
            "the approver is the token's credential, not the name in the body"
        )
        assert again.status_code in {202, 409}, "a second answer is refused or ignored, never applied"
        assert cluster_changes(kube) == []
        assert image_of(kube, "web") == "app:3"


@pytest.mark.parametrize(("policy", "verdict", "image"), [("approve", "acted", "app:2"), ("deny", "denied", "app:3")])
async def test_an_unanswered_rollback_follows_its_timeout_policy(
    kube: KubeEmulator,
    services: ServiceRunner,
    bus: BusClient,
    bad_image: ResourceRef,
    tmp_path: Path,
    policy: str,
    verdict: str,
    image: str,
) -> None:
    await start_remediator(
        services,
        tmp_path,
        approval_levels={"rollback_deployment": ApprovalLevel(level="oncall", timeout_s=2.0)},
        approval_on_timeout={"rollback_deployment": policy},
    )
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened(f"inc-timeout-{policy}", bad_image, "H4"))
        await seen.wait_for(remediation("awaiting_approval"), what="approval request")

        await seen.wait_for(remediation(verdict), what=f"the run {verdict} by its timeout policy")

        decision = "approved" if policy == "approve" else "denied"
        noted = await seen.wait_for(audit("rollback_deployment", decision), what="audited timeout decision")
        assert f"nobody answered in time; its timeout policy is {policy}" in json.loads(noted.data)["reason"]
        assert image_of(kube, "web") == image


async def test_only_a_credential_of_the_requests_level_approves_and_forged_answers_change_nothing(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, bad_image: ResourceRef, tmp_path: Path
) -> None:
    await start_remediator(services, tmp_path)
    settings = services.settings
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-levels", bad_image, "H4"))
        asked = json.loads((await seen.wait_for(remediation("awaiting_approval"), what="approval request")).data)
        run_id = asked["remediation_id"]
        assert asked["approval"]["level"] == "oncall", "a rollback is the on-call's to approve"
        endpoint = next(w for w in asked["approval"]["answer_with"] if w.startswith("POST ")).split()[1]

        await bus.publish(ApprovalDecision(remediation_id=run_id, decision="approve", by="test-admin"))
        signed = ApprovalDecision(remediation_id=run_id, decision="approve", by="test-oncall", reason="fine")
        signed = signed.evolve(attestation=attest(token_of(settings, "test-oncall"), signed.statement(), utcnow()))
        await bus.publish(signed.evolve(reason="altered on the way", event_id=new_id()))
        as_product = {"HEALER_AUTH__TOKEN": token_of(settings, "test-product")}
        code, output = await healer(services, "approve", run_id, env=as_product)
        assert code == 0, output
        async with httpx.AsyncClient() as http:
            anonymous = await http.post(endpoint, json={"decision": "approve", "by": "test-admin"})
            wrong_level = await http.post(
                endpoint, json={"decision": "approve"}, headers=bearer(settings, "test-product")
            )
        assert anonymous.status_code == 401, anonymous.text
        assert wrong_level.status_code == 403, wrong_level.text
        assert "needs approve:oncall" in wrong_level.json()["error"]

        await seen.wait_for(audit("approval", "refused"), what="the unsigned answer refused")
        await seen.wait_count(audit("approval", "refused"), 2)
        product = await seen.wait_for(audit("rollback_deployment", "approval_refused"), what="a level refusal")
        assert json.loads(product.data)["reason"] == (
            "test-product may not approve rollback_deployment: it needs approve:oncall (or admin)"
        )
        reasons = [json.loads(m.data)["reason"] for m in seen.messages if audit("approval", "refused")(m)]
        assert any("unsigned" in r for r in reasons), reasons
        assert any("does not match what it came with" in r for r in reasons), reasons
        await seen.wait_for(audit("http_request", "refused"), what="the anonymous request audited")
        assert cluster_changes(kube) == [], "no forged or under-levelled answer changes anything"
        assert not [m for m in seen.messages if remediation("approved")(m)]

        code, output = await healer(
            services, "approve", run_id, env={"HEALER_AUTH__TOKEN": token_of(settings, "test-oncall")}
        )
        assert code == 0, output
        approved = json.loads((await seen.wait_for(remediation("approved"), what="approved by on-call")).data)
        assert approved["reason"] == "rollback_deployment approved by test-oncall"
        await seen.wait_for(remediation("acted"), what="rollback")
    assert image_of(kube, "web") == "app:2"


@pytest.mark.parametrize(
    "body", [b"[1, 2]", b'"approve"', b"null", b"{not json"], ids=["list", "string", "null", "not json"]
)
async def test_an_approval_whose_body_is_not_a_json_object_gets_400_saying_what_to_send(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, bad_image: ResourceRef, tmp_path: Path, body: bytes
) -> None:
    """It used to answer 500 for any JSON that is not an object (the body was spread as a mapping)."""
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-body", bad_image, "H4"))
        asked = json.loads((await seen.wait_for(remediation("awaiting_approval"), what="approval request")).data)
        endpoint = next(w for w in asked["approval"]["answer_with"] if w.startswith("POST ")).split()[1]
        async with httpx.AsyncClient() as http:
            as_oncall = bearer(services.settings, "test-oncall")
            answer = await http.post(endpoint, content=body, headers={"Content-Type": "application/json", **as_oncall})
            waiting = (await http.get(endpoint.rsplit("/", 1)[0], headers=as_oncall)).json()["awaiting_approval"]

    assert answer.status_code == 400, answer.text
    assert '{"decision": "approve", "reason": "..."}' in answer.json()["error"]
    assert [r["remediation_id"] for r in waiting] == [asked["remediation_id"]], "still waiting for a real answer"
