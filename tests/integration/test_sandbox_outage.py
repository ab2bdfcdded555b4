# mypy: disable-error-code="union-attr,index"
# (the official client's models make every field Optional, as the API may omit any; these tests read fields
# the sandbox always sets, and a missing one fails the test as surely as a type error would)
"""The outage knob as the lead's end-to-end check will use it: the control endpoint takes the Kubernetes
API away for a while (open watches are cut, calls are refused) while the cluster lives on, and brings it
back on the same port, where a watch resumes from its last resourceVersion with nothing repeated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client
from urllib3.exceptions import MaxRetryError, ProtocolError

from healer_common.testing import eventually
from healer_sandbox import kinds
from tests.integration.sandbox_support import call, collect, kube, running_sandbox, start_watch, watch_events

pytestmark = pytest.mark.integration


def seen(events: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Each event as (type, name, resourceVersion)."""
    return [(e["type"], e["object"]["metadata"]["name"], e["object"]["metadata"]["resourceVersion"]) for e in events]


async def test_stopping_the_api_cuts_watches_and_it_comes_back_on_the_same_port_to_resume_them(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, "queue-growing") as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        url = sandbox.kube.url
        listed = await call(core.list_namespaced_pod, "cto", label_selector="app=build-worker")
        before: list[dict[str, Any]] = []
        rv = listed.metadata.resource_version
        watching = await start_watch(
            sandbox,
            before,
            core.list_namespaced_pod,
            "cto",
            label_selector="app=build-worker",
            resource_version=rv,
            timeout_seconds=120,
        )

        async with httpx.AsyncClient(base_url=sandbox.control.url) as control:
            stopped = (await control.post("/kube-api/stop", params={"seconds": "4"})).json()
        assert stopped["kube_api_serving"] is False
        assert stopped["kube_api_resumes_at"] is not None
        with pytest.raises(ProtocolError):
            await watching
        with pytest.raises(MaxRetryError):
            await call(core.list_namespaced_pod, "cto", _request_timeout=2)

        sandbox.api.store.patch(kinds.DEPLOYMENTS, "cto", "build-worker", {"spec": {"replicas": 3}})  # life goes on
        await eventually(lambda: sandbox.kube.serving, timeout=30, what="the API back")
        assert sandbox.kube.url == url

        after: list[dict[str, Any]] = []
        resume_from = seen(before)[-1][2] if before else str(listed.metadata.resource_version)
        stream = watch_events(
            core.list_namespaced_pod,
            "cto",
            label_selector="app=build-worker",
            resource_version=resume_from,
            timeout_seconds=2,
        )
        await call(collect, stream, after)
        added = {name for kind, name, _ in seen(after) if kind == "ADDED"}
        assert len(added) == 2, "the two pods started during the outage"
        assert not set(seen(after)) & set(seen(before)), "nothing repeated"
        assert all(int(rv) > int(resume_from) for _, _, rv in seen(after))
