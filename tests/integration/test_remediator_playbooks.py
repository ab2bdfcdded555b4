"""Playbooks as the running remediator uses them: run by hand through its guards, read from the cluster as
custom resources, learning a confidence from outcomes, and a bad playbook file stopping it at start with the
field and the reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.streams import REMEDIATOR_INCIDENTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import KubeEmulator, ServiceRunner, eventually, recording
from tests.support.cluster_objects import seed_deployment
from tests.support.correlator_bus import drained
from tests.support.remediation_helpers import (
    audit,
    cluster_changes,
    healer,
    opened,
    playbook_doc,
    publish,
    remediation,
    start_remediator,
)
from tests.support.samples import alert, incident, pod

pytestmark = pytest.mark.integration


async def test_a_playbook_run_by_hand_goes_through_the_remediator_and_earns_confidence(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex", replicas=1)
    await start_remediator(services, tmp_path)

    code, output = await healer(services, "playbooks", "run", "queue-backlog-scale", "--target", "Deployment/cto/rex")

    assert code == 0, output
    assert "succeeded: done: scale_up (a run by hand: not verified against an alert)" in output
    assert cluster_changes(kube) == [("PATCH", "/apis/apps/v1/namespaces/cto/deployments/rex")]
    code, listing = await healer(services, "playbooks", "list")
    row = next(line for line in listing.splitlines() if "queue-backlog-scale" in line)
    assert "0.67 ± 0.24 (1 ok, 0 failed)" in row
    assert pod["metadata"]["name"]


async def test_an_external_alert_is_told_by_its_incident_alone_not_by_a_second_relay_run(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    """The built-in external-alert playbook only says the incident's title again: started, it would send a
    second message per incident, and in a storm of Alertmanager alerts a second storm. It is passed over, and
    said so in the audit; a problem with a playbook that acts is still remediated (the control)."""
    _, pod = seed_deployment(kube, "cto", "rex", replicas=1)
    target = ResourceRef(kind="Pod", namespace="cto", name=pod["metadata"]["name"])
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, opened("inc-external", target, "EXT", alertname="DiskSlow"))
        passed_over = await seen.wait_for(audit("choose_playbook", "skipped"), what="the external alert passed over")
        await publish(bus, opened("inc-oom", target))
        await seen.wait_for(remediation(incident_id="inc-oom"), what="the control's remediation")

    assert (
        json.loads(passed_over.data)["reason"]
        == "external-alert only tells the incident again, and its notification did"
    )
    assert [m for m in seen.messages if remediation(incident_id="inc-external")(m)] == []


def external_storm(count: int, *, revision: str) -> list[Incident]:
    """A storm's wave: `count` incidents of three Alertmanager alerts each, on pods in three namespaces (three
    problems: a pod naming no workload is one problem with the others of its alert in its namespace)."""
    return [
        incident(
            *(alert("EXT", resource=pod(f"pod-{n}", f"shop-{k}"), namespace=f"shop-{k}") for k in range(3))
        ).evolve(incident_id=f"inc-storm-{n}", event_id=f"inc-storm-{n}-{revision}")
        for n in range(count)
    ]


async def test_a_storms_wave_of_incidents_is_passed_over_problem_by_problem_once_even_when_delivered_again(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    """Forty incidents arrive together and are handled as one wave (their problems marked and audited for all
    of them at once): each of their 120 problems is passed over and audited once, under its own incident and
    pod; the same revisions delivered again (a redelivery, another replica) audit nothing more and run nothing."""
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await asyncio.gather(*(bus.publish(i) for i in external_storm(40, revision="1")))
        await seen.wait_count(audit("choose_playbook", "skipped"), 120)
        await asyncio.gather(*(bus.publish(i) for i in external_storm(40, revision="again")))
        await drained(bus, REMEDIATOR_INCIDENTS)

    skipped = [json.loads(m.data) for m in seen.messages if audit("choose_playbook", "skipped")(m)]
    assert sorted((s["incident_id"], s["target"]) for s in skipped) == sorted(
        (f"inc-storm-{n}", f"pod shop-{k}/pod-{n}") for n in range(40) for k in range(3)
    )
    assert {s["reason"] for s in skipped} == {"external-alert only tells the incident again, and its notification did"}
    assert [m for m in seen.messages if remediation()(m)] == []


async def test_a_playbook_run_by_hand_on_a_protected_target_is_refused(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    seed_deployment(kube, "cto", "vault", labels={"healer.platform/exclude": "true"})
    await start_remediator(services, tmp_path)

    code, output = await healer(services, "playbooks", "run", "queue-backlog-scale", "--target", "Deployment/cto/vault")

    assert code == 1
    assert "skipped: refused: deployment cto/vault is labelled healer.platform/exclude=true" in output
    assert cluster_changes(kube) == []


async def test_a_playbook_from_the_cluster_replaces_the_builtin_of_its_name(
    kube: KubeEmulator, services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex")
    notify_only = playbook_doc(
        "oom-restart-then-scale", {"type": "notify", "params": {"message": "hands off {target}"}}
    )
    notify_only["metadata"]["namespace"] = "healer"
    kube.put("healer.platform", "v1", "remediationplaybooks", "healer", notify_only)
    await start_remediator(services, tmp_path)
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(
            bus, opened("inc-cluster-playbook", ResourceRef(kind="Pod", namespace="cto", name=pod["metadata"]["name"]))
        )

        done = json.loads((await seen.wait_for(remediation("succeeded"), what="the cluster's playbook")).data)

    assert [s["action"] for s in done["steps"]] == ["notify"]
    assert done["steps"][0]["detail"] == f"hands off pod cto/{pod['metadata']['name']}"
    assert cluster_changes(kube) == []


async def test_a_bad_playbook_file_stops_the_remediator_at_start_naming_the_field(
    kube: KubeEmulator, services: ServiceRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    bad = playbook_doc("typo", {"type": "restart_pod", "condition": "scale_failed"})
    (folder / "typo.yaml").write_text(yaml.safe_dump(bad))
    services.configure("remediator", playbook_paths=[folder])
    services.start("remediator")
    process = services.running["remediator"]

    await eventually(lambda: not process.alive(), timeout=60, what="the remediator refusing to start")

    assert process.process.returncode == 2
    log = process.log()
    assert "spec.actions[0].condition" in log
    assert "'scale', which is not an earlier action" in log
    assert str(folder / "typo.yaml") in log
    services.running.pop("remediator")
