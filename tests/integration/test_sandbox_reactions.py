# mypy: disable-error-code="union-attr,index"
# (the official client's models make every field Optional, as the API may omit any; these tests read fields
# the sandbox always sets, and a missing one fails the test as surely as a type error would)
"""The sandbox reacts to what is done through its API as a cluster would, seen through the official client,
Prometheus and Loki: a deleted pod comes back fresh, scaling spreads the load, a sync makes an Application
Synced, a cleanup Job or a bigger volume relieves a full one, a rollback ends an incident, a cordoned node
gets no new pods, an evicted pod moves, a CodeRun is worked on, a renewed certificate is fresh."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from healer_common.testing import eventually
from healer_sandbox import certs
from tests.support.sandbox_support import advance, call, kube, loki_lines, manual_clock, prometheus, running_sandbox

pytestmark = pytest.mark.integration
ARGO = ("argoproj.io", "v1alpha1")
REVISION = "deployment.kubernetes.io/revision"


def pods_of(core: client.CoreV1Api, app: str) -> list[client.V1Pod]:
    return list(core.list_namespaced_pod("cto", label_selector=f"app={app}").items)


async def rex_memory(sandbox: Any) -> dict[str, float]:
    return {m["pod"]: v for m, v in await prometheus(sandbox, "container_memory_usage_ratio", container="rex")}


async def test_a_deleted_pod_comes_back_fresh_under_its_replicaset_and_its_memory_starts_low(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "leaking-pod", clock=clock) as sandbox:
        core = client.CoreV1Api(kube(sandbox))
        await advance(sandbox, clock, 35)  # six scenario minutes of leaking: near the limit
        [old] = await call(pods_of, core, "rex-worker")
        assert (await rex_memory(sandbox))[old.metadata.name] > 0.8
        await call(core.delete_namespaced_pod, old.metadata.name, "cto")

        async def replaced() -> list[client.V1Pod]:
            fresh = [p for p in await call(pods_of, core, "rex-worker") if p.status.phase == "Running"]
            return [p for p in fresh if p.metadata.uid != old.metadata.uid]

        [new] = await eventually(replaced, what="a replacement pod running")
        assert new.metadata.name != old.metadata.name
        assert new.metadata.owner_references[0].name == old.metadata.owner_references[0].name
        assert new.status.container_statuses[0].restart_count == 0
        await advance(sandbox, clock, 1)
        memory = await rex_memory(sandbox)
        assert str(old.metadata.name) not in memory, "the deleted pod's series ended"
        assert memory[new.metadata.name] < 0.65


async def test_scaling_a_deployment_up_spreads_its_leak_and_down_concentrates_it(tmp_path: Path) -> None:
    """The leak is in the work the pods share: with two replicas each pod leaks half as fast; what a pod has
    leaked stays with it (scaling back down does not make it jump), and then leaks at the full rate again."""
    clock = manual_clock()
    async with running_sandbox(tmp_path, "leaking-pod", clock=clock) as sandbox:
        apps = client.AppsV1Api(kube(sandbox))

        async def scaled_to(replicas: int) -> dict[str, float]:
            """Each rex pod's memory once the Deployment runs `replicas` pods."""
            await call(apps.patch_namespaced_deployment_scale, "rex-worker", "cto", {"spec": {"replicas": replicas}})

            def settled() -> bool:
                status = apps.read_namespaced_deployment("rex-worker", "cto").status
                return bool(status.replicas == status.ready_replicas == replicas)

            await eventually(lambda: call(settled), what=f"{replicas} replicas")
            await advance(sandbox, clock, 1)
            return await rex_memory(sandbox)

        async def growth(before: dict[str, float]) -> dict[str, float]:
            """How much each pod's memory grows in six seconds (a scenario minute)."""
            await advance(sandbox, clock, 6)
            after = await rex_memory(sandbox)
            return {pod: after[pod] - value for pod, value in before.items()}

        await advance(sandbox, clock, 5)
        alone = await growth(await rex_memory(sandbox))
        spread_at = await scaled_to(2)
        spread = await growth(spread_at)
        concentrated_at = await scaled_to(1)
        concentrated = await growth(concentrated_at)

        [alone_rate] = alone.values()
        assert len(spread) == 2
        assert all(rate == pytest.approx(alone_rate / 2, rel=0.15) for rate in spread.values())
        [(kept, at_scale_down)] = concentrated_at.items()
        assert at_scale_down == pytest.approx(spread_at[kept] + spread[kept], abs=0.02), "no jump on scale-down"
        assert concentrated[kept] == pytest.approx(alone_rate, rel=0.15)


async def test_syncing_an_out_of_sync_application_makes_it_synced_and_records_the_operation(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "argocd-drift", clock=clock) as sandbox:
        custom = client.CustomObjectsApi(kube(sandbox))
        await advance(sandbox, clock, 10)
        app = await call(custom.get_namespaced_custom_object, *ARGO, "argocd", "applications", "cto-agents")
        assert app["status"]["sync"]["status"] == "OutOfSync"
        assert (await prometheus(sandbox, "argocd_app_revision_lag", application="cto-agents"))[0][1] == 3
        operation = {"operation": {"initiatedBy": {"username": "healer"}, "sync": {"revision": "9b7e0d4a"}}}
        await call(custom.patch_namespaced_custom_object, *ARGO, "argocd", "applications", "cto-agents", operation)

        async def synced() -> dict[str, Any] | None:
            found = await call(custom.get_namespaced_custom_object, *ARGO, "argocd", "applications", "cto-agents")
            app: dict[str, Any] = found  # type: ignore[assignment] # custom objects come back as plain JSON
            return app if app["status"]["sync"]["status"] == "Synced" else None

        app = await eventually(synced, what="the Application Synced")
        assert "operation" not in app
        assert app["status"]["operationState"]["phase"] == "Succeeded"
        assert app["status"]["operationState"]["operation"]["initiatedBy"] == {"username": "healer"}
        assert app["status"]["history"][-1]["revision"] == "9b7e0d4a"
        await advance(sandbox, clock, 1)
        assert (await prometheus(sandbox, "argocd_app_revision_lag", application="cto-agents"))[0][1] == 0


def cleanup_job() -> dict[str, Any]:
    volume = {"name": "cache", "persistentVolumeClaim": {"claimName": "build-cache"}}
    container: dict[str, Any] = {
        "name": "clean",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "rm -rf /cache/tmp/*"],
    }
    container["volumeMounts"] = [{"name": "cache", "mountPath": "/cache"}]
    spec = {"containers": [container], "volumes": [volume], "restartPolicy": "Never"}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "clean-build-cache"},
        "spec": {"template": {"spec": spec}},
    }


async def test_a_cleanup_job_and_a_bigger_volume_relieve_a_filling_pvc(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "pvc-filling", clock=clock) as sandbox:
        api = kube(sandbox)
        batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
        await advance(sandbox, clock, 80)
        [(labels, full)] = await prometheus(sandbox, "pvc_usage_ratio", persistentvolumeclaim="build-cache")
        assert full > 0.8
        assert labels == {"namespace": "cto", "persistentvolumeclaim": "build-cache"}
        claim = await call(core.read_namespaced_persistent_volume_claim, "build-cache", "cto")
        volume = await call(core.read_persistent_volume, claim.spec.volume_name)
        [term] = volume.spec.node_affinity.required.node_selector_terms
        assert term.match_expressions[0].values == ["sandbox-node-2"], "a local volume: the node it fills"
        [mounter] = (await call(core.list_namespaced_pod, "cto", label_selector="app=build-cache")).items
        assert mounter.spec.node_name == "sandbox-node-2"
        assert [v.persistent_volume_claim.claim_name for v in mounter.spec.volumes] == ["build-cache"]
        await call(batch.create_namespaced_job, "cto", cleanup_job())
        await advance(sandbox, clock, 8)  # its pod works 30 scenario seconds (3 s here), then it is Complete
        job = await call(batch.read_namespaced_job, "clean-build-cache", "cto")
        assert job.status.succeeded == 1
        [(_, cleaned)] = await prometheus(sandbox, "pvc_usage_ratio", persistentvolumeclaim="build-cache")
        assert cleaned < 0.4
        await call(
            core.patch_namespaced_persistent_volume_claim,
            "build-cache",
            "cto",
            {"spec": {"resources": {"requests": {"storage": "100Gi"}}}},
        )
        await advance(sandbox, clock, 2)  # the resizer grows the volume, then the filesystem sees the room
        pvc = await call(core.read_namespaced_persistent_volume_claim, "build-cache", "cto")
        assert pvc.status.capacity["storage"] == "100Gi"
        [(_, expanded)] = await prometheus(sandbox, "pvc_usage_ratio", persistentvolumeclaim="build-cache")
        assert expanded < cleaned * 0.6


async def test_rolling_back_a_bad_image_ends_the_image_pull_backoff(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "bad-image", clock=clock) as sandbox:
        api = kube(sandbox)
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        await advance(sandbox, clock, 15)

        def waiting_reasons() -> set[str | None]:
            return {
                s.state.waiting.reason
                for p in pods_of(core, "cleo-api")
                for s in p.status.container_statuses or []
                if s.state.waiting
            }

        assert await call(waiting_reasons) & {"ImagePullBackOff", "ErrImagePull"}
        assert len(await call(pods_of, core, "cleo-api")) == 2, "the old pod keeps serving during the failed rollout"
        rollback = {
            "spec": {"template": {"spec": {"containers": [{"name": "cleo", "image": "ghcr.io/5dlabs/cleo:1.8.4"}]}}}
        }
        await call(apps.patch_namespaced_deployment, "cleo-api", "cto", rollback)
        await eventually(
            lambda: call(lambda: not waiting_reasons() and len(pods_of(core, "cleo-api")) == 1), what="rolled back"
        )
        deployment = await call(apps.read_namespaced_deployment, "cleo-api", "cto")
        assert deployment.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
        assert deployment.status.ready_replicas == 1


async def test_restarting_a_crash_looping_coredns_brings_its_endpoints_back_and_stops_dns_errors(
    tmp_path: Path,
) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "dns-failures", clock=clock) as sandbox:
        api = kube(sandbox)
        apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
        await advance(sandbox, clock, 20)
        errors = '{namespace="cto", app="gateway"} |~ "misbehaving|name resolution"'
        assert await loki_lines(sandbox, errors, clock.now() - dt.timedelta(minutes=5))
        [subset] = (await call(core.read_namespaced_endpoints, "coredns", "kube-system")).subsets or []
        assert not subset.addresses, "no ready CoreDNS pod"
        assert len(subset.not_ready_addresses or []) == 2
        restart = {"kubectl.kubernetes.io/restartedAt": clock.now().isoformat()}  # `kubectl rollout restart`
        patch = {"spec": {"template": {"metadata": {"annotations": restart}}}}
        await call(apps.patch_namespaced_deployment, "coredns", "kube-system", patch)

        def restarted() -> bool:
            deployment = apps.read_namespaced_deployment("coredns", "kube-system")
            status, revision = deployment.status, deployment.metadata.annotations[REVISION]
            return bool(revision == "2" and status.replicas == status.ready_replicas == 2)  # the old pods gone

        await eventually(lambda: call(restarted), what="CoreDNS restarted and ready")
        [subset] = (await call(core.read_namespaced_endpoints, "coredns", "kube-system")).subsets or []
        assert len(subset.addresses or []) == 2
        await advance(sandbox, clock, 2)
        since = clock.now()
        await advance(sandbox, clock, 10)
        assert not await loki_lines(sandbox, errors, since)
        assert await loki_lines(sandbox, '{namespace="cto", app="gateway", level="info"}', since), "it still serves"


async def test_a_cordoned_node_gets_no_new_pods_and_an_evicted_pod_moves_to_another_node(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path, "queue-growing") as sandbox:
        api = kube(sandbox)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        [worker] = await call(pods_of, core, "build-worker")
        node = str(worker.spec.node_name)
        await call(core.patch_node, node, {"spec": {"unschedulable": True}})
        await eventually(lambda: call(lambda: core.read_node(node).spec.taints), what="the unschedulable taint")
        eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=worker.metadata.name, namespace="cto"))
        await call(core.create_namespaced_pod_eviction, worker.metadata.name, "cto", eviction)

        async def moved() -> list[client.V1Pod]:
            found = await call(pods_of, core, "build-worker")
            return [p for p in found if p.metadata.uid != worker.metadata.uid and p.status.phase == "Running"]

        [replacement] = await eventually(moved, what="a replacement elsewhere")
        assert replacement.spec.node_name != node
        await call(apps.patch_namespaced_deployment_scale, "build-worker", "cto", {"spec": {"replicas": 6}})
        await eventually(lambda: call(lambda: len(pods_of(core, "build-worker")) == 6), what="six workers")
        assert node not in {p.spec.node_name for p in await call(pods_of, core, "build-worker")}


async def test_a_coderun_is_picked_up_by_an_agent_and_succeeds_with_a_pull_request(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, clock=clock) as sandbox:
        api = kube(sandbox)
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        spec = {
            "taskId": 77,
            "service": "cto",
            "repositoryUrl": "https://github.com/5dlabs/cto",
            "docsRepositoryUrl": "https://github.com/5dlabs/docs",
            "workingDirectory": ".",
            "model": "claude",
            "githubApp": "5DLabs-Rex",
            "runType": "remediate",
        }
        body = {
            "apiVersion": "agents.platform/v1",
            "kind": "CodeRun",
            "metadata": {"name": "healer-remediation-task77-h8-1a2b3c4d"},
            "spec": spec,
        }
        await call(custom.create_namespaced_custom_object, "agents.platform", "v1", "cto", "coderuns", body)

        async def phase() -> str | None:
            found = await call(
                custom.get_namespaced_custom_object,
                "agents.platform",
                "v1",
                "cto",
                "coderuns",
                body["metadata"]["name"],
            )
            coderun: dict[str, Any] = found  # type: ignore[assignment] # custom objects come back as plain JSON
            phase: str | None = (coderun.get("status") or {}).get("phase")
            return phase

        assert await eventually(phase, what="a status") in {"Pending", "Running"}
        agent = (await call(core.list_namespaced_pod, "cto", label_selector="agent=5DLabs-Rex,task-id=77")).items
        assert agent
        await advance(sandbox, clock, 5)
        assert await phase() == "Running"
        await advance(sandbox, clock, 65)
        assert await phase() == "Succeeded"
        done = await call(
            custom.get_namespaced_custom_object, "agents.platform", "v1", "cto", "coderuns", body["metadata"]["name"]
        )
        assert done["status"]["pullRequestUrl"].startswith("https://github.com/5dlabs/cto/pull/")


async def test_renewing_an_expiring_certificate_issues_a_fresh_one(tmp_path: Path) -> None:
    clock = manual_clock()
    async with running_sandbox(tmp_path, "certificate-expiry", clock=clock) as sandbox:
        api = kube(sandbox)
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        await advance(sandbox, clock, 1)
        cert = await call(
            custom.get_namespaced_custom_object, "cert-manager.io", "v1", "cto", "certificates", "gateway-tls"
        )
        assert any(c["type"] == "Issuing" and c["reason"] == "Failed" for c in cert["status"]["conditions"])
        [(_, seconds)] = await prometheus(sandbox, "certificate_expiry_seconds", certificate="gateway-tls")
        assert seconds < 5 * 86400
        others = [c for c in cert["status"]["conditions"] if c["type"] != "Issuing"]
        issuing = {"type": "Issuing", "status": "True", "reason": "ManuallyTriggered", "message": "cmctl renew"}
        renew = {"status": {"conditions": [*others, issuing]}}  # what `cmctl renew` does
        await call(
            custom.patch_namespaced_custom_object_status,
            "cert-manager.io",
            "v1",
            "cto",
            "certificates",
            "gateway-tls",
            renew,
        )
        await advance(sandbox, clock, 1)
        secret = await call(core.read_namespaced_secret, "gateway-tls", "cto")
        expires = certs.not_after(certs.from_secret_data({k: str(v) for k, v in (secret.data or {}).items()}))
        assert expires - clock.now() > dt.timedelta(days=89)
        [(_, seconds)] = await prometheus(sandbox, "certificate_expiry_seconds", certificate="gateway-tls")
        assert seconds > 89 * 86400
