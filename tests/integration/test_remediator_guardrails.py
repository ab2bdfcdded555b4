"""The blast-radius limits, as an operator relies on them: a dry run changes nothing (checked on the emulator's
request log), the rate limit refuses past its budget and says so in the audit, the protect label and the kill
switch are obeyed, one remediation holds a target at a time, and every decision is on record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.contract.memory import MemoryAnswer, Recommendation
from healer_common.runtime.busclient import BusClient
from healer_common.testing import KubeEmulator, ServiceRunner, eventually, recording
from tests.support.cluster_objects import pod_of, seed_deployment
from tests.support.remediation_helpers import (
    audit,
    bodies,
    cluster_changes,
    healer,
    opened,
    playbook_doc,
    publish,
    remediation,
    resolved,
    start_remediator,
    write_playbooks,
)

pytestmark = pytest.mark.integration


def oom_pod(kube: KubeEmulator, name: str = "rex", **labels: str) -> ResourceRef:
    _, pod = seed_deployment(kube, "cto", name)
    if labels:
        pod["metadata"]["labels"].update(labels)
        kube.put("", "v1", "pods", "cto", pod)
    return ResourceRef(kind="Pod", namespace="cto", name=pod["metadata"]["name"])


async def test_a_dry_run_makes_zero_mutating_requests_and_says_what_it_would_do(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube)
    await start_remediator(services, tmp_path, dry_run=True)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-dry", target))

        acted = json.loads((await seen.wait_for(remediation("acted"), what="dry-run step")).data)

    assert acted["dry_run"] is True
    assert acted["steps"][0]["outcome"] == "dry_run"
    assert acted["steps"][0]["api_calls"] == [f"DELETE /api/v1/namespaces/cto/pods/{target.name}"]
    assert kube.requests(), "the dry run did read the cluster"
    assert kube.mutating_requests() == [], "not even a remediation record is written in a dry run"
    assert kube.get("", "v1", "pods", "cto", target.name) is not None


async def test_a_playbook_marked_dry_run_changes_nothing_while_others_act(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube)
    rehearsal = playbook_doc("rehearse-restart", {"type": "restart_pod"}, dryRun=True)
    folder = tmp_path / "playbooks"
    write_playbooks(folder, rehearsal)
    await start_remediator(services, tmp_path, playbook_paths=[folder])
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-pb-dry", target))

        acted = json.loads((await seen.wait_for(remediation("acted"), what="dry-run step")).data)

    assert (acted["playbook"], acted["dry_run"]) == ("rehearse-restart", True)
    assert kube.mutating_requests() == []


async def test_playbooks_run_dry_run_prints_the_exact_calls_and_makes_none(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube)
    await start_remediator(services, tmp_path)

    code, output = await healer(
        services, "playbooks", "run", "oom-restart-then-scale", "--target", f"cto/{target.name}", "--dry-run"
    )

    assert code == 0, output
    assert f"DELETE /api/v1/namespaces/cto/pods/{target.name}" in output
    assert 'PATCH /apis/apps/v1/namespaces/cto/deployments/rex {"spec":{"replicas":2}}' in output
    assert "scale_up [if restart_failed]" in output
    assert kube.mutating_requests() == []


async def test_the_rate_limit_refuses_the_action_past_its_budget_and_audits_the_refusal(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    first, second = oom_pod(kube, "rex"), oom_pod(kube, "tess")
    await start_remediator(services, tmp_path, rate_limit=1)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-rate-1", first))
        await seen.wait_for(remediation("acted", incident_id="inc-rate-1"), what="the first restart")
        await publish(bus, opened("inc-rate-2", second))

        skipped = json.loads(
            (await seen.wait_for(remediation("skipped", incident_id="inc-rate-2"), what="refusal")).data
        )
        refusal = await seen.wait_for(audit("restart_pod", "refused"), what="audited refusal")

    reason = "rate limit: 1 actions in the last 3600s already use the budget of 1 (remediator.rate_limit)"
    assert skipped["reason"] == f"refused: {reason}"
    record = json.loads(refusal.data)
    assert (record["reason"], record["details"]["policy"]) == (reason, "rate_limit")
    assert cluster_changes(kube) == [("DELETE", f"/api/v1/namespaces/cto/pods/{first.name}")]


async def test_a_pod_with_the_protect_label_is_never_touched(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube, **{"healer.platform/exclude": "true"})
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-protected", target))

        skipped = json.loads((await seen.wait_for(remediation("skipped"), what="refusal")).data)

    assert skipped["reason"] == f"pod cto/{target.name} is labelled healer.platform/exclude=true"
    assert cluster_changes(kube) == []
    assert kube.get("", "v1", "pods", "cto", target.name) is not None


async def test_the_kill_switch_skips_remediations_until_resumed(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube)
    await start_remediator(services, tmp_path)
    code, output = await healer(services, "pause", "--by", "ops", "--reason", "maintenance window")
    assert code == 0, output
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-paused", target))
        skipped = json.loads((await seen.wait_for(remediation("skipped"), what="skip while paused")).data)
        assert "paused by ops" in skipped["reason"]
        assert "maintenance window" in skipped["reason"]
        assert cluster_changes(kube) == []

        code, output = await healer(services, "resume", "--by", "ops")
        assert code == 0, output
        await publish(bus, opened("inc-resumed", target))
        await seen.wait_for(remediation("acted", incident_id="inc-resumed"), what="restart after resume")
        await seen.wait_for(audit("kill_switch", "resumed", service="cli"), what="audited resume")


async def test_one_remediation_holds_a_deployment_at_a_time_and_then_it_cools_down(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    first = oom_pod(kube)
    sibling = pod_of(kube.get("apps", "v1", "replicasets", "cto", "rex-1abc"), "cto", "rex-1abc-x2")
    kube.put("", "v1", "pods", "cto", sibling)
    second = ResourceRef(kind="Pod", namespace="cto", name="rex-1abc-x2")
    await start_remediator(services, tmp_path, cooldown_s=0)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-first", first))
        run = json.loads((await seen.wait_for(remediation("acted", incident_id="inc-first"), what="first run")).data)
        await publish(bus, opened("inc-second", second))

        skipped = json.loads((await seen.wait_for(remediation("skipped", incident_id="inc-second"), what="2nd")).data)

    assert skipped["reason"] == f"remediation {run['remediation_id']} is already working on deployment cto/rex"
    assert cluster_changes(kube) == [("DELETE", f"/api/v1/namespaces/cto/pods/{first.name}")]


async def test_a_sure_memory_is_applied_directly_and_the_audit_names_it(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    target = oom_pod(kube)
    recommendation = Recommendation(method="scale_up", confidence=0.96, memory_id="mem-42", successes=24, failures=1)

    async def answer(msg: Any) -> None:
        await msg.respond(MemoryAnswer(recommendation=recommendation).model_dump_json().encode())

    memory = await bus.nc.subscribe(bus.space.memory_query, cb=answer)
    await start_remediator(services, tmp_path, memory_timeout_s=5.0)
    try:
        async with recording(bus, f"{bus.space.root}.>") as seen:
            await publish(bus, opened("inc-memory", target))
            acted = json.loads((await seen.wait_for(remediation("acted"), what="remembered fix")).data)
            applied = json.loads((await seen.wait_for(audit("memory", "memory_applied"), what="audit")).data)
    finally:
        await memory.unsubscribe()

    assert [s["action"] for s in acted["steps"]] == ["scale_up"], "the restart memory says does not help is skipped"
    assert (acted["memory_ids"], acted["confidence"]) == (["mem-42"], 0.96)
    assert applied["details"] == {"memory_id": "mem-42", "confidence": "0.96", "playbook": "oom-restart-then-scale"}
    assert kube.get("apps", "v1", "deployments", "cto", "rex")["spec"]["replicas"] == 2  # type: ignore[index]


async def test_every_run_is_kept_as_a_remediation_record_and_healer_audit_reads_the_decisions(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    kube.put("", "v1", "pods", "cto", pod_of(None, "cto", "lonely-1"))
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-record", ResourceRef(kind="Pod", namespace="cto", name="lonely-1")))
        acted = json.loads((await seen.wait_for(remediation("acted"), what="restart")).data)

    name = f"rem-{acted['remediation_id']}"
    record = await eventually(
        lambda: (
            (r := kube.get("healer.platform", "v1", "remediationrecords", "healer", name))
            and r.get("status", {}).get("state") == "acted"
            and r
        ),
        what="the remediation record",
    )
    assert record["spec"]["incidentId"] == "inc-record"
    assert [d["decision"] for d in record["status"]["decisions"]] == ["memory_consulted", "planned", "acted"]
    assert record["status"]["steps"][0]["apiCalls"] == ["DELETE /api/v1/namespaces/cto/pods/lonely-1"]

    code, output = await healer(services, "audit", "--since", "1h", "--service", "remediator")
    assert code == 0, output
    decisions = [line.split()[3:5] for line in output.splitlines() if " remediator " in line]
    assert decisions == [["memory", "memory_consulted"], ["plan", "planned"], ["restart_pod", "acted"]]
    assert "restart_pod acted pod cto/lonely-1 — restart pod cto/lonely-1" in output


async def test_the_circuit_breaker_stops_acting_when_recent_remediations_fail_but_missing_targets_never_count(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    folder = tmp_path / "playbooks"
    write_playbooks(folder, playbook_doc("restart-only", {"type": "restart_pod", "timeout": "1s"}))
    await start_remediator(services, tmp_path, playbook_paths=[folder], breaker_min_runs=2, breaker_min_success=0.5)
    gone = [ResourceRef(kind="Pod", namespace="cto", name=f"ghost-{i}") for i in range(2)]
    stubborn = [oom_pod(kube, name) for name in ("rex", "tess", "cleo")]
    async with recording(bus, f"{bus.space.root}.>") as seen:
        for i, target in enumerate(gone):
            await publish(bus, opened(f"inc-ghost-{i}", target))
            ghost = await seen.wait_for(remediation("skipped", incident_id=f"inc-ghost-{i}"), what=f"ghost {i}")
            assert json.loads(ghost.data)["reason"].startswith("skipped: not found: pod cto/ghost-")
        for i, target in enumerate(stubborn[:2]):  # restarted, yet the alert never resolves
            await publish(bus, opened(f"inc-stubborn-{i}", target))
            await seen.wait_for(remediation("failed", incident_id=f"inc-stubborn-{i}"), what=f"failed run {i}")
        await publish(bus, opened("inc-stubborn-2", stubborn[2]))

        skipped = json.loads(
            (await seen.wait_for(remediation("skipped", incident_id="inc-stubborn-2"), what="breaker")).data
        )

    assert skipped["reason"] == (
        "circuit breaker opened: 0% of the last 2 remediations succeeded, below 50% (remediator.breaker_min_success)"
    ), "the two missing targets were not failures: the breaker weighed only the two real ones"


async def test_a_remediation_past_the_concurrency_ceiling_waits_its_turn_and_runs_once_a_slot_frees(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    first, second = oom_pod(kube, "rex"), oom_pod(kube, "tess")
    await start_remediator(services, tmp_path, max_concurrent=1)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        busy = opened("inc-busy-1", first)
        await publish(bus, busy)
        await seen.wait_for(remediation("acted", incident_id="inc-busy-1"), what="the first run, now verifying")
        await publish(bus, opened("inc-busy-2", second))

        queued = json.loads((await seen.wait_for(audit("remediation", "queued"), what="the second, queued")).data)
        assert queued["reason"] == (
            "1 remediations are in progress, the most allowed at once (remediator.max_concurrent): "
            "oom-restart-then-scale waits its turn, looked at again every 5s"
        )
        assert queued["incident_id"] == "inc-busy-2"
        assert kube.get("", "v1", "pods", "cto", second.name) is not None, "nothing done while the first runs"
        assert not bodies(seen, remediation(incident_id="inc-busy-2")), "no run started, none refused"

        await publish(bus, resolved(busy))  # the first is verified, and its slot is free
        await seen.wait_for(remediation("succeeded", incident_id="inc-busy-1"), what="the first run verified")
        acted = json.loads(
            (await seen.wait_for(remediation("acted", incident_id="inc-busy-2"), what="the second, in its turn")).data
        )

    assert acted["steps"][0]["api_calls"] == [f"DELETE /api/v1/namespaces/cto/pods/{second.name}"]
    assert kube.get("", "v1", "pods", "cto", second.name) is None
