"""Least privilege, checked against the code: each ServiceAccount of deploy/k8s may make exactly the Kubernetes
calls its service makes, no fewer (the service would fail) and no more (an unused grant is a hole). The calls
are recorded on the emulator while the collector watches everything it watches, and while the remediator
answers an incident (reads its target, its playbooks, writes its record; the agent coordination reads the
CodeRuns, their pods and the nodes, and pauses a low-priority run while the incident is open) and runs every
built-in action and its undo, and follows a hand-off's CodeRun; the grants come from the rendered manifests,
the opt-in ones (Secret writes) from deploy/k8s/optional.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from kubernetes import client

from healer_common.contract.events import ResourceRef
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.kube import api_client
from healer_common.settings import ClusterSettings, GitHubSettings
from healer_common.settings.collector import KUBERNETES_RESOURCES
from healer_common.settings.remediator import ProviderFailover
from healer_common.testing import HttpPeer, KubeEmulator, ServiceRunner, eventually, recording
from services.remediator.adapters.handoffs import HandOffs
from services.remediator.run_state import HandOff
from tests.support.action_helpers import context, pod_ref, run_action, undo
from tests.support.cluster_objects import evictions, pod_of, seed_deployment
from tests.support.kustomize import render
from tests.support.rbac import DEPLOY, Call, Grant, call_of, grants
from tests.support.remediation_helpers import opened, publish, remediation, resolved, start_remediator

pytestmark = pytest.mark.integration
LOW_PRIORITY_RUN = {
    "metadata": {"name": "nightly-docs", "namespace": "cto", "labels": {"healer.platform/priority": "low"}},
    "spec": {"taskId": 1, "githubApp": "5DLabs-Cleo", "runType": "documentation"},
    "status": {"phase": "Running"},
}
NO_KUBERNETES = (
    "healer-detector",
    "healer-correlator",
    "healer-notifier",
    "healer-memory-bridge",
    "healer-api",
    "healer-analyze",
)


def recorded(kube: KubeEmulator) -> set[Call]:
    return {c for m, p, q in kube.requests_with_query() if (c := call_of(m, p, q)) is not None}


def missing(calls: set[Call], granted: list[Grant]) -> list[str]:
    return sorted(str(c) for c in calls if not any(g.allows(c) for g in granted))


def unused(granted: list[Grant], calls: set[Call]) -> list[str]:
    return sorted(
        f"{g.verb} {g.group or 'core'}/{g.resource} ({g.source})"
        for g in granted
        if not any(g.allows(c) for c in calls)
    )


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_only_the_collector_and_the_remediator_mount_a_token_and_the_rest_have_no_grants(overlay: str) -> None:
    objects = render(DEPLOY / "overlays" / overlay)
    pods = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]
        if o["kind"] == "Deployment"
        else o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in {"Deployment", "CronJob"} and o["metadata"]["name"].startswith("healer-")
    }
    accounts = {name: spec["serviceAccountName"] for name, spec in pods.items()}
    assert accounts == {name: name for name in pods}, "each service runs as its own ServiceAccount"
    mounting = sorted(name for name, spec in pods.items() if spec.get("automountServiceAccountToken"))
    assert mounting == ["healer-collector", "healer-remediator"]
    for account in NO_KUBERNETES:
        assert grants(objects, account) == [], f"{account} needs no Kubernetes access"
    assert not [o for o in objects if o["kind"] == "Role" and "leases" in str(o.get("rules"))], "no unused Leases"


@pytest.fixture
async def api(kube: KubeEmulator, tmp_path: Path) -> AsyncIterator[client.ApiClient]:
    made = api_client(ClusterSettings(kubeconfig=tmp_path / "kubeconfig"))
    assert made is not None
    yield made
    await asyncio.to_thread(made.close)


WORLD = [  # one object of each kind the collector watches: the emulator serves a kind once it holds one
    ("", "v1", "pods"),
    ("", "v1", "events"),
    ("", "v1", "nodes"),
    ("", "v1", "persistentvolumeclaims"),
    ("", "v1", "services"),
    ("", "v1", "endpoints"),
    ("", "v1", "secrets"),
    ("apps", "v1", "deployments"),
    ("apps", "v1", "replicasets"),
    ("cert-manager.io", "v1", "certificates"),
    ("agents.platform", "v1", "coderuns"),
    ("argoproj.io", "v1alpha1", "applications"),
]


async def test_the_collectors_account_grants_exactly_the_watches_it_makes(
    kube: KubeEmulator, services: ServiceRunner, tmp_path: Path
) -> None:
    for group, version, plural in WORLD:
        namespace = None if plural == "nodes" else "cto"
        kube.put(group, version, plural, namespace, {"metadata": {"name": "one", "namespace": namespace}})
    services.configure("cluster", kubeconfig=tmp_path / "kubeconfig")
    # the emulator records a request once it is answered: short watches end (and are resumed) within the test
    watch = services.settings.collector.kubernetes.model_copy(update={"watch_timeout_s": 10})
    services.configure("collector", kubernetes=watch)
    services.start("collector")
    await services.wait_running("collector")
    expected = set(KUBERNETES_RESOURCES) | {"applications"}

    def watched() -> set[str]:
        return {c.resource for c in recorded(kube) if c.verb == "watch"}

    await eventually(lambda: watched() >= expected, timeout=40, what=f"watches of {sorted(expected)}")
    calls = recorded(kube)
    granted = grants(render(DEPLOY / "base"), "healer-collector")

    assert missing(calls, granted) == []
    assert unused(granted, calls) == []
    assert {c.verb for c in calls} == {"list", "watch"}, "the collector only reads"


async def every_action(kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient, peer: HttpPeer) -> None:
    """Each built-in action once against a small world, and its undo where it has one."""
    _, pod = seed_deployment(kube, "cto", "web", revisions=3)
    pod_target = pod_ref(pod["metadata"]["name"])
    scaled = await run_action(context(api, http, pod_target), "scale_up", pod_target, {"by": 1, "maxReplicas": 5})
    await undo(context(api, http, pod_target), "scale_up", scaled.undo)
    rolled = await run_action(context(api, http, pod_target), "rollback_deployment", pod_target)
    await undo(context(api, http, pod_target), "rollback_deployment", rolled.undo)
    await run_action(context(api, http, pod_target), "create_coderun", pod_target)
    await run_action(context(api, http, pod_target), "restart_pod", pod_target)

    kube.put("", "v1", "persistentvolumeclaims", "cto", {"metadata": {"name": "data", "namespace": "cto"}, "spec": {}})
    mounts = [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]
    kube.put("", "v1", "pods", "cto", pod_of(None, "cto", "db-0", node="node-7", volumes=mounts))
    claim = ResourceRef(kind="PersistentVolumeClaim", namespace="cto", name="data")
    await run_action(context(api, http, claim), "clear_temp_files", claim, {"paths": ["tmp"]})

    app = {"metadata": {"name": "shop", "namespace": "argocd"}, "status": {"sync": {"revision": "abc"}}}
    kube.put("argoproj.io", "v1alpha1", "applications", "argocd", app)
    application = ResourceRef(kind="Application", namespace="argocd", name="shop")
    await run_action(context(api, http, application), "retry_sync", application)

    kube.put("", "v1", "nodes", None, {"metadata": {"name": "node-1", "labels": {}}, "spec": {}})
    kube.put("", "v1", "pods", "cto", pod_of(None, "cto", "rex-1"))
    evictions(kube, blocked=set())
    node = ResourceRef(kind="Node", name="node-1")
    drained = await run_action(context(api, http, node), "drain_node", node)
    await undo(context(api, http, node), "drain_node", drained.undo)

    seed_deployment(kube, "cto", "api", env_secret="db-creds")
    for name in ("db-creds", "db-creds-previous"):
        kube.put("", "v1", "secrets", "cto", {"metadata": {"name": name, "namespace": "cto"}, "data": {}})
    secret = ResourceRef(kind="Secret", namespace="cto", name="db-creds")
    opted_in = context(api, http, secret, secret_namespaces=["cto"])
    refreshed = await run_action(opted_in, "refresh_secrets", secret)
    await undo(opted_in, "refresh_secrets", refreshed.undo)

    hooks = {"database_failover_url": f"{peer.url}/failover", "feature_flag_url": f"{peer.url}/flags"}
    await run_action(context(api, http, pod_target, **hooks), "database_failover", pod_target, {"database": "db"})
    await run_action(context(api, http, pod_target, **hooks), "disable_feature_flag", pod_target, {"flag": "f"})
    await agent_platform_calls(kube, api, http)


async def agent_platform_calls(kube: KubeEmulator, api: client.ApiClient, http: httpx.AsyncClient) -> None:
    """A provider's failover and its undo; a hand-off's CodeRun read to learn what came of it."""
    providers = {"anthropic": ProviderFailover(config_map="cto/agent-providers", backup="openai")}
    kube.put("", "v1", "configmaps", "cto", {"metadata": {"name": "agent-providers", "namespace": "cto"}, "data": {}})
    probe = ResourceRef(kind="Probe", name="anthropic")
    switched = await run_action(context(api, http, probe, providers=providers), "failover_provider", probe)
    await undo(context(api, http, probe, providers=providers), "failover_provider", switched.undo)
    clusters = SimpleNamespace(get=lambda _cluster: api)
    handoff = HandOff(namespace="cto", name="nightly-docs", since=dt.datetime.now(dt.UTC))
    await HandOffs(clusters, http, GitHubSettings()).outcome(handoff, "default", handoff.since)  # type: ignore[arg-type]


async def test_the_remediators_account_grants_exactly_what_its_actions_and_records_call(
    kube: KubeEmulator,
    services: ServiceRunner,
    bus: BusClient,
    api: client.ApiClient,
    http_peer: HttpPeer,
    tmp_path: Path,
) -> None:
    _, pod = seed_deployment(kube, "cto", "rex", replicas=1)
    kube.put("agents.platform", "v1", "coderuns", "cto", LOW_PRIORITY_RUN)  # paused while the incident presses
    agents = services.settings.remediator.agents.model_copy(update={"interval_s": 0.5})
    await start_remediator(services, tmp_path, agents=agents)
    incident = opened("inc-rbac", pod_ref(pod["metadata"]["name"]))
    async with recording(bus, f"{bus.space.root}.>") as seen:
        await publish(bus, incident)
        await seen.wait_for(remediation("acted"), what="the restart")
        await seen.wait_for(remediation("acted", playbook="agent-priority"), what="the low-priority run paused")
        await publish(bus, resolved(incident))
        await seen.wait_for(remediation("succeeded"), what="the verified run, its record patched")
        await seen.wait_for(remediation("succeeded", playbook="agent-priority"), what="the run resumed")
    http_peer.handler["post /failover"] << {"ok": True}
    http_peer.handler["post /flags"] << {"ok": True}
    async with httpx.AsyncClient() as http:
        await every_action(kube, api, http, http_peer)

    calls = recorded(kube)
    secrets = {c for c in calls if c.resource == "secrets"}
    base, opt_in = render(DEPLOY / "base"), render(DEPLOY / "optional" / "secret-writes")
    granted = grants(base, "healer-remediator")

    assert missing(calls - secrets, granted) == []
    assert unused(granted, calls) == []
    assert missing(secrets, grants(opt_in, "healer-remediator")) == [], "Secret access only through the opt-in"
    assert unused(grants(opt_in, "healer-remediator"), secrets) == []
    assert not [g for g in granted if g.resource == "secrets"], "the base grants no Secret access"
