# mypy: disable-error-code="union-attr,index"
# (the official client's models make every field Optional, as the API may omit any; these tests read fields
# the sandbox always sets, and a missing one fails the test as surely as a type error would)
"""The sandbox's Kubernetes API as the official client meets it: discovery, selectors and pages over
thousands of pods, watches that see the sandbox's own changes and resume from a resourceVersion (or get
410 Gone), and writes answered with the statuses and errors of a real API server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client, dynamic
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import ProtocolError

from healer_common.testing import eventually
from tests.support.sandbox_support import (
    advance,
    call,
    collect,
    kube,
    manual_clock,
    running_sandbox,
    start_watch,
    watch_events,
)

pytestmark = pytest.mark.integration


def pod(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": "main", "image": "example/app:1"}]},
    }


async def test_the_official_client_discovers_built_in_and_platform_resources(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        api = kube(sandbox)
        version = await call(client.VersionApi(api).get_code)
        assert version.git_version.startswith("v1.")
        found = await call(dynamic.DynamicClient, api)
        for api_version, kind in [
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("argoproj.io/v1alpha1", "Application"),
            ("cert-manager.io/v1", "Certificate"),
            ("agents.platform/v1", "CodeRun"),
        ]:
            resource = await call(found.resources.get, api_version=api_version, kind=kind)
            assert resource.namespaced
        crds = await call(client.ApiextensionsV1Api(api).list_custom_resource_definition)
        assert {"applications.argoproj.io", "coderuns.agents.platform"} <= {c.metadata.name for c in crds.items}
        async with httpx.AsyncClient(base_url=sandbox.kube.url) as http:
            assert (await http.get("/readyz")).text == "ok"
            assert (await http.get("/no/such/path")).json()["reason"] == "NotFound"


async def test_lists_filter_by_labels_and_fields_and_page_through_two_thousand_pods(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, "leaking-pod", pods=2000) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        names: list[str] = []
        token = None
        while True:
            page = await call(core.list_pod_for_all_namespaces, limit=500, _continue=token)
            names += [f"{p.metadata.namespace}/{p.metadata.name}" for p in page.items]
            token = page.metadata._continue
            if not token:
                break
        assert len(names) == len(set(names)) >= 2000
        rex = await call(core.list_namespaced_pod, "cto", label_selector="app=rex-worker,agent=5DLabs-Rex")
        assert len(rex.items) == 1
        node = rex.items[0].spec.node_name
        on_node = await call(core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node}")
        assert on_node.items
        assert all(p.spec.node_name == node for p in on_node.items)
        with pytest.raises(ApiException) as refused:
            await call(core.list_namespaced_pod, "cto", label_selector="app in (a")
        assert refused.value.status == 400


async def test_a_watcher_sees_the_sandbox_own_changes_as_they_happen(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "leaking-pod", clock=clock) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        listed = await call(core.list_namespaced_pod, "cto", label_selector="app=rex-worker")
        events: list[dict[str, Any]] = []
        rv = listed.metadata.resource_version
        watching = await start_watch(
            sandbox,
            events,
            core.list_namespaced_pod,
            "cto",
            label_selector="app=rex-worker",
            resource_version=rv,
            timeout_seconds=60,
        )
        await advance(sandbox, clock, 120)  # twelve scenario minutes: the leak reaches the limit

        def oom_seen() -> bool:
            for event in events:
                for status in event["object"]["status"].get("containerStatuses") or []:
                    if (status.get("lastState") or {}).get("terminated", {}).get("reason") == "OOMKilled":
                        return True
            return False

        await eventually(oom_seen, timeout=30, what="a MODIFIED event with the OOMKilled container")
        assert all(e["type"] == "MODIFIED" for e in events)
        await sandbox.stop_kube_api()  # an API server going away cuts its watches
        with pytest.raises(ProtocolError):
            await watching


async def test_a_watch_resumes_from_its_resource_version_and_an_expired_one_gets_410(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, watch_history=30) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        start = (await call(core.list_namespaced_pod, "cto")).metadata.resource_version
        for index in range(3):
            await call(core.create_namespaced_pod, "cto", pod(f"job-{index}"))
        replay: list[dict[str, Any]] = []
        await call(
            collect,
            watch_events(core.list_namespaced_pod, "cto", resource_version=start, timeout_seconds=1),
            replay,
        )
        added = [e["object"]["metadata"]["name"] for e in replay if e["type"] == "ADDED"]
        assert added == ["job-0", "job-1", "job-2"], "only what happened after the resourceVersion, in order"
        assert all(int(e["object"]["metadata"]["resourceVersion"]) > int(str(start)) for e in replay)
        for index in range(40):
            await call(core.patch_namespaced_pod, "job-0", "cto", {"metadata": {"labels": {"n": str(index)}}})
        expired = watch_events(core.list_namespaced_pod, "cto", resource_version=start, timeout_seconds=1)
        with pytest.raises(ApiException) as gone:
            await call(collect, expired, [])
        assert gone.value.status == 410


async def test_a_quiet_watch_that_allows_bookmarks_gets_them_with_the_current_resource_version(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, watch_bookmark_s=0.3) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        start = (await call(core.list_namespaced_secret, "cto")).metadata.resource_version
        await call(core.create_namespaced_pod, "cto", pod("unrelated"))
        events: list[dict[str, Any]] = []
        quiet = watch_events(
            core.list_namespaced_secret,
            "cto",
            field_selector="type=kubernetes.io/tls",
            resource_version=start,
            allow_watch_bookmarks=True,
            timeout_seconds=2,
        )
        await call(collect, quiet, events)
        assert events
        assert {e["type"] for e in events} == {"BOOKMARK"}
        assert int(events[-1]["object"]["metadata"]["resourceVersion"]) > int(str(start))


async def test_writes_are_answered_with_the_statuses_and_errors_of_an_api_server(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        created = await call(core.create_namespaced_pod, "cto", pod("web-1", {"app": "web"}))
        assert created.metadata.uid
        assert created.metadata.resource_version
        with pytest.raises(ApiException) as exists:
            await call(core.create_namespaced_pod, "cto", pod("web-1"))
        assert (exists.value.status, exists.value.reason) == (409, "Conflict")
        assert "AlreadyExists" in str(exists.value.body)
        stale = {**pod("web-1"), "metadata": {"name": "web-1", "resourceVersion": "1"}}
        with pytest.raises(ApiException) as conflict:
            await call(core.replace_namespaced_pod, "web-1", "cto", stale)
        assert "the object has been modified" in str(conflict.value.body)
        with pytest.raises(ApiException) as missing:
            await call(core.read_namespaced_pod, "nope", "cto")
        assert missing.value.status == 404

        patched = await call(
            core.patch_namespaced_pod,
            "web-1",
            "cto",
            {"spec": {"containers": [{"name": "main", "image": "example/app:2"}]}},
        )
        assert patched.spec.containers[0].image == "example/app:2", "strategic merge by container name"
        ops = [{"op": "add", "path": "/metadata/labels/tier", "value": "front"}]
        assert (await call(core.patch_namespaced_pod, "web-1", "cto", ops)).metadata.labels["tier"] == "front"
        await call(core.create_namespaced_pod, "cto", pod("dry"), dry_run="All")
        assert not [p for p in (await call(core.list_namespaced_pod, "cto")).items if p.metadata.name == "dry"]

        status = await call(
            core.patch_namespaced_pod_status, "web-1", "cto", {"status": {"phase": "Failed"}, "spec": {"nodeName": "x"}}
        )
        assert status.status.phase == "Failed"
        assert status.spec.node_name != "x", "the status subresource changes status only"
        await call(core.delete_namespaced_pod, "web-1", "cto")
        with pytest.raises(ApiException):
            await call(core.read_namespaced_pod, "web-1", "cto")


async def test_deployments_scale_through_their_scale_subresource_and_delete_with_their_pods(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, "queue-growing") as sandbox:
        api = kube(sandbox)
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        scale = await call(apps.read_namespaced_deployment_scale, "build-worker", "cto")
        assert (scale.spec.replicas, scale.status.selector) == (1, "app=build-worker")
        await call(apps.patch_namespaced_deployment_scale, "build-worker", "cto", {"spec": {"replicas": 3}})

        def workers() -> int:
            return len(core.list_namespaced_pod("cto", label_selector="app=build-worker").items)

        async def workers_are(count: int) -> bool:
            return await call(workers) == count

        await eventually(lambda: workers_are(3), what="three build-worker pods")
        await call(apps.delete_namespaced_deployment, "build-worker", "cto")
        await eventually(lambda: workers_are(0), what="the deployment's pods collected with it")
        assert not (await call(apps.list_namespaced_replica_set, "cto", label_selector="app=build-worker")).items


async def test_discovery_is_what_kubectl_expects_of_the_core_group_and_subresources(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as sandbox, httpx.AsyncClient(base_url=sandbox.kube.url) as http:
        core = (await http.get("/api/v1")).json()
        assert core["groupVersion"] == "v1"
        by_name = {r["name"]: r for r in core["resources"]}
        assert by_name["pods"]["shortNames"] == ["po"]
        assert by_name["pods/eviction"]["shortNames"] == []
        assert by_name["nodes"]["namespaced"] is False
        apps = (await http.get("/apis/apps/v1")).json()
        assert apps["groupVersion"] == "apps/v1"
        assert {r["name"]: r for r in apps["resources"]}["deployments/scale"]["shortNames"] == []
