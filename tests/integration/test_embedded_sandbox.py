"""`make run` as a newcomer gets it by default: `healer up` starts the sandbox cluster before the services,
prints where its Kubernetes, Prometheus and Loki APIs are, points the services at it, and the remediator acts
on it for real: an OOMKilled pod of the sandbox is deleted and comes back fresh, and the bad image's rollback
waits for an approval that only the credentials `healer up` wrote can give. Ctrl-C stops it all."""

# mypy: disable-error-code="union-attr"
# (the official client's models make every field Optional; the fields read here are always set)

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from subprocess import DEVNULL
from typing import Any, cast

import httpx
import nats
import pytest
from kubernetes import client

from healer_cli.demo import condition_event
from healer_common.runtime.servers import port_in_use
from healer_common.testing import eventually
from tests.support.embedded import Up, start_up, stop_with_descendants
from tests.support.markers import WHOLE_SYSTEM
from tests.support.sandbox_support import call, client_for

pytestmark = [pytest.mark.integration, WHOLE_SYSTEM]


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path)
    yield running
    stop_with_descendants(running.process)


@pytest.mark.timeout(240)  # the sandbox, an OOM loop healed, and a rollback waiting for its approval
async def test_make_run_starts_the_sandbox_and_the_remediator_heals_its_pods_for_real(up: Up, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "sandbox"
    await eventually((folder / "sandbox.json").is_file, timeout=120, interval=0.5, what="the sandbox serving")
    endpoints = json.loads((folder / "sandbox.json").read_text())
    await eventually(lambda: up.healer("status", "--all").returncode == 0, timeout=120, interval=1, what="healthy")
    shown = up.output()
    for where in ("sandbox: Kubernetes API", endpoints["kube_api"], endpoints["prometheus"], endpoints["loki"]):
        assert where in shown
    assert "demo published" not in shown, "the sandbox's scenarios are the demo"

    core = client.CoreV1Api(client_for(folder / "kubeconfig"))
    [rex] = (await call(core.list_namespaced_pod, "cto", label_selector="app=rex-worker")).items
    remediations: list[dict[str, Any]] = []
    connection = await nats.connect(f"nats://127.0.0.1:{up.nats_port}")

    async def on_remediation(msg: Any) -> None:
        remediations.append(json.loads(msg.data))

    try:
        await connection.subscribe("healer.remediations.>", cb=on_remediation)
        event = condition_event(f"cto/{rex.metadata.name}", "OOMKilled", source="newcomer", container="rex")
        await connection.jetstream().publish("healer.events.custom.demo", event.model_dump_json().encode())

        async def replaced() -> bool:
            now = (await call(core.list_namespaced_pod, "cto", label_selector="app=rex-worker")).items
            return bool(now) and all(p.metadata.uid != rex.metadata.uid for p in now)

        await eventually(replaced, timeout=90, interval=0.5, what="the OOMKilled pod deleted and replaced")

        def on_rex(remediation: dict[str, Any]) -> bool:
            return bool(
                remediation["state"] == "acted" and (remediation.get("target") or {}).get("name") == rex.metadata.name
            )

        await eventually(lambda: any(on_rex(r) for r in remediations), what="the remediation that restarted it")
        acted = next(r for r in remediations if on_rex(r))
        assert acted["dry_run"] is False
        assert [s["outcome"] for s in acted["steps"]] == ["ok"], "live, not a dry run"

        custom = client.CustomObjectsApi(client_for(folder / "kubeconfig"))

        async def recorded() -> list[dict[str, Any]]:  # what `kubectl -n healer get remediationrecords` shows
            found = cast(
                "dict[str, Any]",
                await call(
                    custom.list_namespaced_custom_object, "healer.platform", "v1", "healer", "remediationrecords"
                ),
            )
            return [r for r in found["items"] if r["metadata"]["name"].endswith(acted["remediation_id"])]

        await eventually(recorded, what="the remediation recorded in the cluster")

        # the bad image's rollback (the scenario's own run, or one asked for by hand with local-admin's credential
        # when the scenario's alert joined another incident) waits for a human: an anonymous answer is refused,
        # `healer approve` with the credentials `healer up` wrote is taken
        command = ["playbooks", "run", "bad-image-rollback", "--target", "Deployment/cto/cleo-api", "--wait", "60"]
        asking = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "healer_cli", *command, env=up.env, stdout=DEVNULL, stderr=DEVNULL
        )

        admin = {"Authorization": f"Bearer {up.token('local-admin')}"}
        approvals = f"{up.url('remediator')}/approvals"

        async def waiting() -> dict[str, Any] | None:
            async with httpx.AsyncClient(headers=admin) as http:
                runs: list[dict[str, Any]] = (await http.get(approvals)).json()["awaiting_approval"]
            return runs[0] if runs else None

        try:
            asked = await eventually(waiting, timeout=60, interval=0.5, what="a rollback asking for approval")
            run_id = asked["remediation_id"]
            async with httpx.AsyncClient() as http:
                anonymous = await http.post(f"{approvals}/{run_id}", json={"decision": "approve"})
                anonymous_read = await http.get(approvals)
            assert anonymous.status_code == 401, anonymous.text
            assert anonymous_read.status_code == 401, anonymous_read.text
            answered = up.healer("approve", run_id, "--reason", "newcomer")
            assert answered.returncode == 0, answered.stderr
            assert f"approved {run_id} as local-admin" in answered.stdout

            def approved() -> bool:
                return any(r["remediation_id"] == run_id and r["state"] == "approved" for r in remediations)

            await eventually(approved, timeout=30, what="the rollback approved by local-admin")
        finally:
            if asking.returncode is None:
                asking.kill()
            await asking.wait()
    finally:
        await connection.close()

    kube_port = int(endpoints["kube_api"].rsplit(":", 1)[1])
    up.process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(up.process.wait, 60) == 0, up.output()[-3000:]
    assert not port_in_use(kube_port), "the sandbox left running after Ctrl-C"
    assert "stopped." in up.output()
