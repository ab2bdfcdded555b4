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
from healer_common.contract.memory import MemoryAnswer, MemoryQuery
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, eventually, recording
from services.remediator.actions.cluster import kube as read_json
from tests.support.remediation_helpers import bodies, healer, opened, publish, remediation, resolved
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
        services.configure("cluster", kubeconfig=sandbox.config.kubeconfig)
        services.configure("github", api_url=sandbox.github.url)
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
        custom = client.CustomObjectsApi(kube(sandbox))
        first = opened("inc-first", TESS, alert_id="A5", **{"task-id": "7"})

        async with recording(bus, bus.space.all_remediations) as seen:
            await publish(bus, first)
            [coderun] = await eventually(lambda: coderuns(custom), what="the remediation CodeRun created")

            await eventually(agent_done_of(custom, coderun), timeout=60, what="the agent done")
            await publish(bus, resolved(first))  # the agent's fix landed: the alert resolves
            done = await seen.wait_for(remediation("succeeded", incident_id="inc-first"), timeout=30, what="verdict")

        run = json.loads(done.data)
        pr_url = run["coderun"]["pr_url"]
        assert pr_url.startswith("https://github.com/5dlabs/cto/pull/")
        assert run["coderun"]["merged"] is True
        assert run["coderun"]["checks_passed"] is True
        assert run["coderun"]["alert_resolved"] is True
        assert run["healed_by"] == "coderun"

        async def remembered() -> list[Any]:
            answer = await bus.request(
                bus.space.memory_query, MemoryQuery(text="A5 tess-task7", alert_type="A5"), MemoryAnswer, 5.0
            )
            return [m for m in answer.matches if m.record.metadata.pr_url == pr_url]

        [memory] = await eventually(remembered, what="the outcome remembered with its PR")
        assert memory.record.metadata.success is True

        again = opened("inc-second", TESS, alert_id="A5", **{"task-id": "7"})
        again = again.evolve(
            alerts=[a.model_copy(update={"starts_at": a.starts_at + dt.timedelta(hours=1)}) for a in again.alerts]
        )
        async with recording(bus, bus.space.all_remediations) as seen:
            await publish(bus, again)
            await seen.wait_for(remediation("acted", incident_id="inc-second"), timeout=30, what="the second hand-off")
            second = [c for c in await coderuns(custom) if c["metadata"]["name"] != coderun["metadata"]["name"]]
        assert len(second) == 1
        assert pr_url in second[0]["spec"]["promptModification"], "the next agent is told what fixed it last time"
        assert bodies(seen, remediation(incident_id="inc-second"))[0]["memory_ids"], "the run names the memory it used"

        await eventually(lambda: _phase(custom, second[0]), timeout=60, what="the second agent at work")
        await eventually(agent_done_of(custom, second[0]), timeout=60, what="the second agent done")
        async with recording(bus, bus.space.all_remediations) as seen:
            await publish(bus, resolved(again))
            await seen.wait_for(remediation("succeeded", incident_id="inc-second"), timeout=30, what="its verdict")
        code, out = await healer(
            services, "playbooks", "run", "post-tess-ci-failure", "--target", "cto/tess-task7", "--no-use-memory",
            "--wait", "5",
        )  # fmt: skip
        assert "asked the remediator to run post-tess-ci-failure" in out, (code, out)
        known = {c["metadata"]["name"] for c in [coderun, *second]}
        [third] = await eventually(
            lambda: _others(custom, known), timeout=30, what="the CodeRun of the run by hand"
        )  # fmt: skip
        assert pr_url not in third["spec"]["promptModification"], "--no-use-memory keeps memory out of its prompt"


def agent_done_of(custom: client.CustomObjectsApi, coderun: dict[str, Any]) -> Any:
    async def done() -> bool:
        return await _phase(custom, coderun) == "Succeeded"

    return done


async def _others(custom: client.CustomObjectsApi, known: set[str]) -> list[dict[str, Any]]:
    return [c for c in await coderuns(custom) if c["metadata"]["name"] not in known]


async def _phase(custom: client.CustomObjectsApi, coderun: dict[str, Any]) -> str | None:
    found = await read_json(custom.get_namespaced_custom_object, *CODERUNS, coderun["metadata"]["name"])
    return cast("str | None", (found.get("status") or {}).get("phase"))
