"""Remediations before routine agent work, on the sandbox: three CodeRuns run (a low-priority one, a high-priority
one, and a remediation CodeRun labelled low on purpose); while a critical incident is open the low-priority
run is paused (annotated, its agent pod stopped), audited and told under the incident; once the incident
resolves it is resumed; neither of the others is ever paused. The live set is reported on the bus and shown
by `healer status --all`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from healer_common.contract.events import ResourceRef
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, recording
from healer_sandbox.kubelet import RUN_SECONDS
from services.remediator.actions.cluster import kube as read_json
from tests.support.remediation_helpers import audit, healer, opened, publish, remediation, resolved
from tests.support.sandbox_support import kube, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
CODERUNS = ("agents.platform", "v1", "cto", "coderuns")
PAUSED = "agents.platform/paused"


def coderun(name: str, agent: str, priority: str, *, remediation: bool = False) -> dict[str, Any]:
    labels = {"healer.platform/priority": priority, "task-id": "9"}
    if remediation:
        labels |= {"remediation": "true", "agents.platform/type": "healer-remediation"}
    return {
        "apiVersion": "agents.platform/v1",
        "kind": "CodeRun",
        "metadata": {"name": name, "namespace": "cto", "labels": labels, "annotations": {RUN_SECONDS: "36000"}},
        "spec": {
            "taskId": 9,
            "service": "cto",
            "repositoryUrl": "https://github.com/5dlabs/cto",
            "docsRepositoryUrl": "https://github.com/5dlabs/cto",
            "workingDirectory": ".",
            "model": "claude-sonnet-4-20250514",
            "githubApp": agent,
            "runType": "remediate" if remediation else "implementation",
        },
    }


RUNS = {
    "docs-cleanup": coderun("docs-cleanup", "5DLabs-Cleo", "low"),
    "login-feature": coderun("login-feature", "5DLabs-Rex", "high"),
    "healer-remediation-task9-h8-0a1b2c3d": coderun(
        "healer-remediation-task9-h8-0a1b2c3d", "5DLabs-Rex", "low", remediation=True
    ),
}


async def annotations_of(custom: client.CustomObjectsApi) -> dict[str, dict[str, str]]:
    found = await read_json(custom.list_namespaced_custom_object, *CODERUNS)
    return {c["metadata"]["name"]: c["metadata"].get("annotations") or {} for c in found["items"]}


async def agent_pods(core: client.CoreV1Api) -> set[str]:
    found = await read_json(core.list_namespaced_pod, "cto", label_selector="app=coderun")
    return {p["metadata"]["labels"]["coderun"] for p in cast("list[dict[str, Any]]", found["items"])}


async def test_low_priority_coderuns_pause_while_a_critical_incident_is_open_and_resume_after(
    services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    async with running_sandbox(tmp_path, speed=10.0) as sandbox:
        api = kube(sandbox)
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        for body in RUNS.values():
            await read_json(custom.create_namespaced_custom_object, *CODERUNS, body)
        await eventually(lambda: _all_working(core), what="the three agents at work")
        services.configure("cluster", kubeconfig=sandbox.config.kubeconfig)
        agents = services.settings.remediator.agents.model_copy(update={"interval_s": 0.5, "pending_for_s": 3600})
        services.configure("remediator", tick_s=0.2, memory_timeout_s=0.2, cluster_playbooks=False, agents=agents)
        services.start("remediator")
        await services.wait_running("remediator")
        stuck = ResourceRef(kind="CodeRun", namespace="cto", name="nightly-report")  # its playbook only escalates
        incident = opened("inc-crit", stuck, alert_id="A9")

        async with recording(bus, bus.space.all_audit, bus.space.all_remediations, bus.space.agents_report) as seen:
            await publish(bus, incident)
            await eventually(lambda: _paused(custom, "docs-cleanup"), what="the low-priority run paused")
            await eventually(lambda: _stopped(core, "docs-cleanup"), what="its agent pod stopped")
            now = await annotations_of(custom)
            assert PAUSED not in now["login-feature"]
            assert PAUSED not in now["healer-remediation-task9-h8-0a1b2c3d"], "a remediation is never paused"
            paused = await seen.wait_for(audit("pause_coderun", "paused"), what="the pause audited")
            assert json.loads(paused.data)["incident_id"] == "inc-crit"
            told = await seen.wait_for(remediation("acted", playbook="agent-priority"), what="the pause told")
            assert json.loads(told.data)["incident_id"] == "inc-crit"
            _code, shown_by_cli = await healer(services, "status", "--all")
            assert "cto/docs-cleanup" in shown_by_cli
            assert "paused for inc-crit" in shown_by_cli, shown_by_cli
            report = await seen.wait_for(
                lambda m: m.subject == bus.space.agents_report and _shows_paused(m.data), what="report"
            )

            await publish(bus, resolved(incident))
            await eventually(lambda: _resumed(custom, "docs-cleanup"), what="the run resumed")
            await seen.wait_for(audit("resume_coderun", "resumed"), what="the resume audited")
            await seen.wait_for(remediation("succeeded", playbook="agent-priority"), what="the resume told")
            await eventually(lambda: _all_working(core), what="its agent back at work")
        decisions = [json.loads(m.data) for m in seen.messages if ".audit." in m.subject]
        touched = {d["target"] for d in decisions if d["action"] in {"pause_coderun", "resume_coderun"}}
        assert touched == {"coderun cto/docs-cleanup"}, "only the low-priority run was ever paused or resumed"
        shown = json.loads(report.data)
        assert {r["name"]: r["priority"] for r in shown["coderuns"]} == {
            "docs-cleanup": "low",
            "login-feature": "high",
            "healer-remediation-task9-h8-0a1b2c3d": "critical",
        }
        assert shown["by_stage"] == {"quality": 1, "implementation": 1, "remediation": 1}
        assert shown["pressing"] == ["inc-crit"]


def _shows_paused(data: bytes) -> bool:
    return any(r["paused"] for r in json.loads(data)["coderuns"])


async def _paused(custom: client.CustomObjectsApi, name: str) -> bool:
    return (await annotations_of(custom))[name].get(PAUSED) == "true"


async def _resumed(custom: client.CustomObjectsApi, name: str) -> bool:
    return PAUSED not in (await annotations_of(custom))[name]


async def _stopped(core: client.CoreV1Api, name: str) -> bool:
    return name not in await agent_pods(core)


async def _all_working(core: client.CoreV1Api) -> bool:
    return await agent_pods(core) >= set(RUNS)
