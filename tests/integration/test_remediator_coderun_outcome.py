"""A remediation handed to an AI agent, followed to its end, and learned from: an A5 incident makes the
remediator create a CodeRun on the sandbox; its agent opens a pull request on the sandbox's GitHub, which
passes its check and merges; the alert resolves; the run succeeds with the PR; memory-bridge remembers the
outcome with its `pr_url`; and the next identical alert's CodeRun is told of that PR in its prompt."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client

from healer_common.contract.events import ResourceRef
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import MemoryAnswer, MemoryQuery
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, recording
from services.remediator.actions.cluster import kube as read_json
from tests.support.remediation_helpers import healer, opened, publish, remediation, resolved
from tests.support.sandbox_support import kube, running_sandbox

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
TESS = ResourceRef(kind="Pod", namespace="cto", name="tess-task7")
CODERUNS = ("agents.platform", "v1", "cto", "coderuns")


async def coderuns(custom: client.CustomObjectsApi) -> list[dict[str, Any]]:
    found = await read_json(custom.list_namespaced_custom_object, *CODERUNS, label_selector="remediation=true")
    return cast("list[dict[str, Any]]", found["items"])


async def test_a_remediation_coderun_opens_a_pr_memory_learns_it_and_the_next_agent_is_told(
    services: ServiceRunner, bus: BusClient, tmp_path: Path
) -> None:
    async with running_sandbox(tmp_path, speed=60.0) as sandbox:
        await start(services, sandbox.config.kubeconfig, sandbox.github.url)
        custom = client.CustomObjectsApi(kube(sandbox))

        run, coderun = await handed_off_and_verified(bus, custom, opened("inc-first", TESS, alert_id="A5", **TASK))
        pr_url = run["coderun"]["pr_url"]
        assert pr_url.startswith("https://github.com/5dlabs/cto/pull/")
        assert (run["coderun"]["merged"], run["coderun"]["checks_passed"], run["coderun"]["alert_resolved"]) == (
            True,
            True,
            True,
        )
        assert run["healed_by"] == "coderun"
        [memory] = await eventually(lambda: remembered(bus, pr_url), what="the outcome remembered with its PR")
        assert memory.record.metadata.success is True

        again = opened("inc-second", TESS, alert_id="A5", **TASK)
        later = [a.model_copy(update={"starts_at": a.starts_at + dt.timedelta(hours=1)}) for a in again.alerts]
        rerun, second = await handed_off_and_verified(bus, custom, again.evolve(alerts=later), known=[coderun])
        assert pr_url in second["spec"]["promptModification"], "the next agent is told what fixed it last time"
        assert rerun["memory_ids"], "the run names the memory it used"

        code, out = await healer(
            services, "playbooks", "run", "post-tess-ci-failure", "--target", "cto/tess-task7", "--no-use-memory",
            "--wait", "5",
        )  # fmt: skip
        assert "asked the remediator to run post-tess-ci-failure" in out, (code, out)
        known = {c["metadata"]["name"] for c in [coderun, second]}
        [third] = await eventually(lambda: _others(custom, known), timeout=30, what="the CodeRun of the run by hand")
        assert pr_url not in third["spec"]["promptModification"], "--no-use-memory keeps memory out of its prompt"


TASK = {"task-id": "7"}


async def start(services: ServiceRunner, kubeconfig: Path, github_url: str) -> None:
    services.configure("cluster", kubeconfig=kubeconfig)
    services.configure("github", api_url=github_url)
    services.configure(
        "remediator",
        tick_s=0.2,
        coderun_poll_s=0.5,
        cooldown_s=0.0,
        recurrence_window_s=0.0,  # the next alert comes later in life than in this test
        memory_timeout_s=3.0,
        cluster_playbooks=False,
    )
    services.start("memory-bridge", "remediator")
    await services.wait_running("memory-bridge", "remediator")


async def handed_off_and_verified(
    bus: BusClient, custom: client.CustomObjectsApi, incident: Incident, known: list[dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Open the incident; once its CodeRun's agent is done, resolve it (the fix landed); the run's verdict and
    the CodeRun."""
    names = {c["metadata"]["name"] for c in known or []}
    async with recording(bus, bus.space.all_remediations) as seen:
        await publish(bus, incident)
        [coderun] = await eventually(lambda: _others(custom, names), what="the remediation CodeRun created")
        await eventually(agent_done_of(custom, coderun), timeout=60, what="the agent done")
        await publish(bus, resolved(incident))
        done = await seen.wait_for(
            remediation("succeeded", incident_id=incident.incident_id), timeout=30, what="verdict"
        )
    return json.loads(done.data), coderun


async def remembered(bus: BusClient, pr_url: str) -> list[Any]:
    question = MemoryQuery(text="A5 tess-task7", alert_type="A5")
    answer = await bus.request(bus.space.memory_query, question, MemoryAnswer, 5.0)
    return [m for m in answer.matches if m.record.metadata.pr_url == pr_url]


def agent_done_of(custom: client.CustomObjectsApi, coderun: dict[str, Any]) -> Any:
    async def done() -> bool:
        return await _phase(custom, coderun) == "Succeeded"

    return done


async def _others(custom: client.CustomObjectsApi, known: set[str]) -> list[dict[str, Any]]:
    return [c for c in await coderuns(custom) if c["metadata"]["name"] not in known]


async def _phase(custom: client.CustomObjectsApi, coderun: dict[str, Any]) -> str | None:
    found = await read_json(custom.get_namespaced_custom_object, *CODERUNS, coderun["metadata"]["name"])
    return cast("str | None", (found.get("status") or {}).get("phase"))
