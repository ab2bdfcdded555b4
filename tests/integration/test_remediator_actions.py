"""Each action through the official kubernetes client against the Kubernetes emulator: the exact calls it plans,
what they change on the cluster, what a dry run leaves untouched, and how each reversible action is undone.
Webhook actions post to a local HTTP peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client

from healer_common.contract.events import ResourceRef
from healer_common.runtime.kube import api_client
from healer_common.settings import ClusterSettings
from healer_common.testing import HttpPeer, KubeEmulator
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.plans import ActionFailed
from tests.support.action_helpers import context, pod_ref, run_action, undo
from tests.support.cluster_objects import evictions, pod_of, seed_deployment

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(kube: KubeEmulator, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    api = api_client(ClusterSettings(kubeconfig=tmp_path / "kubeconfig"))
    assert api is not None
    yield api
    await asyncio.to_thread(api.close)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http_client:
        yield http_client


async def test_restart_pod_deletes_exactly_that_pod(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex")
    target = pod_ref(pod["metadata"]["name"])

    outcome = await run_action(context(api, http, target), "restart_pod", target)

    assert outcome.step.outcome == "ok"
    assert kube.mutating_requests() == [("DELETE", f"/api/v1/namespaces/cto/pods/{target.name}")]
    assert kube.get("", "v1", "pods", "cto", target.name) is None


async def test_scale_up_raises_the_pods_deployment_within_its_bound_and_undo_scales_it_back(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex", replicas=2)
    ctx = context(api, http, pod_ref(pod["metadata"]["name"]))

    outcome = await run_action(ctx, "scale_up", ctx.run.target, {"by": 5, "maxReplicas": 4})

    assert outcome.step.api_calls == ['PATCH /apis/apps/v1/namespaces/cto/deployments/rex {"spec":{"replicas":4}}']
    assert kube.get("apps", "v1", "deployments", "cto", "rex")["spec"]["replicas"] == 4  # type: ignore[index]
    restored = await undo(ctx, "scale_up", outcome.undo)
    assert restored.step.outcome == "ok"
    assert kube.get("apps", "v1", "deployments", "cto", "rex")["spec"]["replicas"] == 2  # type: ignore[index]


async def test_scale_up_refuses_at_its_bound_and_undo_leaves_a_count_someone_else_changed(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    dep, _ = seed_deployment(kube, "cto", "rex", replicas=3)
    ctx = context(api, http, ResourceRef(kind="Deployment", namespace="cto", name="rex"))

    with pytest.raises(ActionFailed, match="already runs 3 replicas, the playbook's maxReplicas is 3"):
        await CATALOGUE["scale_up"].plan(ctx, ctx.run.target, {"maxReplicas": 3})
    kube.put("apps", "v1", "deployments", "cto", {**dep, "spec": {**dep["spec"], "replicas": 7}})
    left = await undo(ctx, "scale_up", {"namespace": "cto", "name": "rex", "replicas": 3, "set": 4})

    assert "someone changed it since Healer set 4" in left.step.detail
    assert kube.mutating_requests() == []


async def test_clear_temp_files_runs_a_job_on_the_node_that_mounts_the_claim(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    kube.put("", "v1", "persistentvolumeclaims", "cto", {"metadata": {"name": "data", "namespace": "cto"}, "spec": {}})
    user = pod_of(
        None, "cto", "db-0", node="node-7", volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    )
    kube.put("", "v1", "pods", "cto", user)
    target = ResourceRef(kind="PersistentVolumeClaim", namespace="cto", name="data")

    outcome = await run_action(
        context(api, http, target), "clear_temp_files", target, {"paths": ["tmp"], "olderThanMinutes": 30}
    )

    assert outcome.step.api_calls == ["POST /apis/batch/v1/namespaces/cto/jobs (Job healer-cleanup-data-0a1b2c3d)"]
    job = kube.get("batch", "v1", "jobs", "cto", "healer-cleanup-data-0a1b2c3d")
    assert job is not None
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["nodeSelector"] == {"kubernetes.io/hostname": "node-7"}
    assert pod_spec["volumes"] == [{"name": "claim", "persistentVolumeClaim": {"claimName": "data"}}]
    assert 'find "$d" -mindepth 1 -mmin +30 -delete' in pod_spec["containers"][0]["command"][2]


async def test_retry_sync_sets_a_sync_operation_on_the_application(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    app = {
        "metadata": {"name": "shop", "namespace": "argocd"},
        "spec": {"source": {"targetRevision": "main"}},
        "status": {"sync": {"status": "OutOfSync", "revision": "abc123"}},
    }
    kube.put("argoproj.io", "v1alpha1", "applications", "argocd", app)
    target = ResourceRef(kind="Application", namespace="argocd", name="shop")

    await run_action(context(api, http, target), "retry_sync", target)

    operation = kube.get("argoproj.io", "v1alpha1", "applications", "argocd", "shop")["operation"]  # type: ignore[index]
    assert operation["sync"] == {"revision": "abc123", "prune": False, "syncStrategy": {"hook": {}}}
    assert operation["initiatedBy"]["username"] == "healer"


async def test_retry_sync_refuses_while_a_sync_is_running(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    app = {"metadata": {"name": "shop", "namespace": "argocd"}, "status": {"operationState": {"phase": "Running"}}}
    kube.put("argoproj.io", "v1alpha1", "applications", "argocd", app)
    target = ResourceRef(kind="Application", namespace="argocd", name="shop")

    with pytest.raises(ActionFailed, match="already syncing"):
        await run_action(context(api, http, target), "retry_sync", target)


async def test_rollback_puts_the_previous_template_back_and_undo_rolls_forward(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    _, pod = seed_deployment(kube, "cto", "web", revisions=3)
    ctx = context(api, http, pod_ref(pod["metadata"]["name"]))

    outcome = await run_action(ctx, "rollback_deployment", ctx.run.target)

    assert "from revision 3 to revision 2" in outcome.step.detail
    container = kube.get("apps", "v1", "deployments", "cto", "web")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["image"] == "app:2"
    await undo(ctx, "rollback_deployment", outcome.undo)
    container = kube.get("apps", "v1", "deployments", "cto", "web")["spec"]["template"]["spec"]["containers"][0]  # type: ignore[index]
    assert container["image"] == "app:3"


async def test_rollback_without_an_older_revision_fails_with_the_reason(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    seed_deployment(kube, "cto", "web", revisions=1)
    target = ResourceRef(kind="Deployment", namespace="cto", name="web")

    with pytest.raises(ActionFailed, match="no revision older than 1 is kept"):
        await run_action(context(api, http, target), "rollback_deployment", target)


async def test_drain_cordons_and_evicts_but_leaves_budget_protected_daemonset_and_healer_pods(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    kube.put("", "v1", "nodes", None, {"metadata": {"name": "node-1", "labels": {}}, "spec": {}})
    for namespace, name, extra in [
        ("cto", "rex-1", {}),
        ("cto", "db-0", {}),
        ("healer", "healer-remediator-1", {}),
        ("kube-system", "fluentd-x", {"ownerReferences": [{"kind": "DaemonSet", "name": "fluentd"}]}),
    ]:
        pod = pod_of(None, namespace, name)
        pod["metadata"].update(extra)
        kube.put("", "v1", "pods", namespace, pod)
    kube.put("", "v1", "pods", "cto", pod_of(None, "cto", "elsewhere", node="node-2"))
    evicted = evictions(kube, blocked={"db-0"})
    target = ResourceRef(kind="Node", name="node-1")
    ctx = context(api, http, target)

    outcome = await run_action(ctx, "drain_node", target)

    assert kube.get("", "v1", "nodes", None, "node-1")["spec"]["unschedulable"] is True  # type: ignore[index]
    assert evicted == ["cto/rex-1"]
    assert outcome.step.outcome == "failed", "a budget-protected pod is still there"
    assert "db-0/eviction -> refused: a PodDisruptionBudget allows no disruption now (429)" in outcome.step.detail
    assert not any("healer-remediator" in c or "fluentd" in c or "elsewhere" in c for c in outcome.step.api_calls)
    await undo(ctx, "drain_node", outcome.undo)
    assert kube.get("", "v1", "nodes", None, "node-1")["spec"]["unschedulable"] is False  # type: ignore[index]


async def test_refresh_secrets_restarts_its_consumers_and_undo_restores_the_previous_version(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    for name, data in (("db-creds", {"password": "bmV3"}), ("db-creds-previous", {"password": "b2xk"})):
        kube.put("", "v1", "secrets", "cto", {"metadata": {"name": name, "namespace": "cto"}, "data": data})
    seed_deployment(kube, "cto", "api", env_secret="db-creds")
    seed_deployment(kube, "cto", "worker", env_secret="db-creds", labels={"healer.platform/exclude": "true"})
    seed_deployment(kube, "cto", "web")
    target = ResourceRef(kind="Secret", namespace="cto", name="db-creds")
    ctx = context(api, http, target, secret_namespaces=["cto"])
    with pytest.raises(ActionFailed, match=r"works only in remediator\.secret_namespaces"):
        await run_action(context(api, http, target), "refresh_secrets", target)

    outcome = await run_action(ctx, "refresh_secrets", target)

    restart = "PATCH /apis/apps/v1/namespaces/cto/deployments/api (spec.template annotation {})"
    assert outcome.step.api_calls == [restart.format("kubectl.kubernetes.io/restartedAt")]
    assert "left alone: worker: deployment cto/worker is labelled healer.platform/exclude=true" in outcome.step.detail
    restarted = kube.get("apps", "v1", "deployments", "cto", "api")["spec"]["template"]["metadata"]  # type: ignore[index]
    assert "kubectl.kubernetes.io/restartedAt" in restarted["annotations"]
    restored = await undo(ctx, "refresh_secrets", outcome.undo)
    assert restored.step.outcome == "ok"
    assert kube.get("", "v1", "secrets", "cto", "db-creds")["data"] == {"password": "b2xk"}  # type: ignore[index]
    assert "b2xk" not in " ".join(restored.step.api_calls) + restored.step.detail, "secret values never show"


async def test_create_coderun_names_labels_and_describes_the_case_as_todays_healer_does(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    kube.put("", "v1", "pods", "cto", pod_of(None, "cto", "rex-1", labels={"task-id": "42", "agent": "5DLabs-Rex"}))
    target = pod_ref("rex-1")

    outcome = await run_action(context(api, http, target), "create_coderun", target)

    name = "healer-remediation-task42-h8-0a1b2c3d"
    assert outcome.step.api_calls == [f"POST /apis/agents.platform/v1/namespaces/cto/coderuns (CodeRun {name})"]
    run = kube.get("agents.platform", "v1", "coderuns", "cto", name)
    assert run is not None
    assert run["metadata"]["labels"] == {
        "remediation": "true",
        "alert-type": "H8",
        "task-id": "42",
        "target-pod": "rex-1",
        "agents.platform/type": "healer-remediation",
    }
    spec = run["spec"]
    assert {k: spec[k] for k in ("taskId", "runType", "githubApp", "service")} == {
        "taskId": 42,
        "runType": "remediate",
        "githubApp": "5DLabs-Rex",
        "service": "healer",
    }
    assert {"repositoryUrl", "docsRepositoryUrl", "workingDirectory", "model"} <= set(spec)
    assert "rex-1 keeps running out of memory" in spec["promptModification"]
    assert spec["env"]["TARGET_POD"] == "rex-1"


async def test_a_coderun_already_running_for_the_same_alert_and_pod_means_no_second_one(
    kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient
) -> None:
    labels = {"remediation": "true", "alert-type": "H8", "target-pod": "rex-1", "task-id": "0"}
    existing = {
        "metadata": {"name": "healer-remediation-task0-h8-ffffffff", "namespace": "cto", "labels": labels},
        "status": {"phase": "Running"},
    }
    kube.put("agents.platform", "v1", "coderuns", "cto", existing)
    target = pod_ref("rex-1")

    outcome = await run_action(context(api, http, target), "create_coderun", target)

    assert outcome.step.outcome == "ok"
    assert "leave it to CodeRun healer-remediation-task0-h8-ffffffff, already Running" in outcome.step.detail
    assert kube.mutating_requests() == []


async def test_database_failover_posts_to_its_webhook_with_the_token(
    http_peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    http_peer.handler["post /failover"] << {"ok": True}
    ctx = context(None, http, pod_ref("rex-1"), database_failover_url=f"{http_peer.url}/failover", webhook_token="t0k")

    outcome = await run_action(ctx, "database_failover", ctx.run.target, {"database": "orders"})

    assert outcome.step.outcome == "ok"
    (sent,) = http_peer.received("POST", "/failover")
    assert sent.data["action"] == "failover"
    assert sent.data["database"] == "orders"
    assert sent.data["remediation_id"] == "0a1b2c3d4e5f6071"
    assert {k.lower(): v for k, v in sent.headers.items()}["authorization"] == "Bearer t0k"


async def test_a_feature_flag_is_switched_off_and_undo_switches_it_on(
    http_peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    http_peer.handler["post /flags"] << {"ok": True}
    ctx = context(None, http, pod_ref("rex-1"), feature_flag_url=f"{http_peer.url}/flags")

    outcome = await run_action(ctx, "disable_feature_flag", ctx.run.target, {"flag": "new-checkout"})
    await undo(ctx, "disable_feature_flag", outcome.undo)

    assert [(r.data["flag"], r.data["enabled"]) for r in http_peer.received("POST", "/flags")] == [
        ("new-checkout", False),
        ("new-checkout", True),
    ]


async def test_a_webhook_answering_an_error_fails_the_step_with_its_status(
    http_peer: HttpPeer, http: httpx.AsyncClient
) -> None:
    http_peer.handler["post /failover"] << 503
    ctx = context(None, http, pod_ref("rex-1"), database_failover_url=f"{http_peer.url}/failover")

    outcome = await run_action(ctx, "database_failover", ctx.run.target, {"database": "orders"})

    assert outcome.step.outcome == "failed"
    assert "HTTP 503" in outcome.step.detail


async def test_a_webhook_action_without_its_url_fails_saying_which_setting_to_set(http: httpx.AsyncClient) -> None:
    with pytest.raises(ActionFailed, match="HEALER_REMEDIATOR__FEATURE_FLAG_URL"):
        await run_action(context(None, http, pod_ref("rex-1")), "disable_feature_flag", pod_ref("rex-1"), {"flag": "x"})


@pytest.mark.parametrize(
    ("kind", "target", "params"),
    [
        ("restart_pod", None, {}),
        ("scale_up", None, {}),
        ("rollback_deployment", None, {}),
        ("create_coderun", None, {}),
        ("refresh_secrets", ResourceRef(kind="Secret", namespace="cto", name="db-creds"), {}),
        ("drain_node", ResourceRef(kind="Node", name="node-1"), {}),
    ],
)
async def test_a_dry_run_reads_but_changes_nothing(
    kube: KubeEmulator,
    api: client.ApiClient,
    http: httpx.AsyncClient,
    kind: str,
    target: ResourceRef | None,
    params: dict[str, Any],
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex", revisions=2, env_secret="db-creds")
    kube.put("", "v1", "secrets", "cto", {"metadata": {"name": "db-creds", "namespace": "cto"}, "data": {}})
    kube.put("", "v1", "nodes", None, {"metadata": {"name": "node-1"}, "spec": {}})
    aim = target or pod_ref(pod["metadata"]["name"])

    outcome = await run_action(context(api, http, aim, secret_namespaces=["cto"]), kind, aim, params, dry_run=True)

    assert outcome.step.outcome == "dry_run"
    assert outcome.step.api_calls, "a dry run still says which calls it would make"
    assert kube.mutating_requests() == []
