"""Kubernetes objects as the API server returns them, for seeding the emulator in remediator tests, and the
reactions of a cluster that the emulator does not play by itself (the Eviction API, PodDisruptionBudgets).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import kmock

from healer_common.testing import KubeEmulator

Obj = dict[str, Any]
_EVICTION = re.compile(r"^/api/v1/namespaces/[^/]+/pods/[^/]+/eviction$")


def _meta(namespace: str | None, name: str, labels: dict[str, str] | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name, "uid": uuid.uuid4().hex, "labels": labels or {}, **extra}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def template(image: str, *, app: str, env_secret: str | None = None) -> Obj:
    container: Obj = {"name": app, "image": image}
    if env_secret:
        container["envFrom"] = [{"secretRef": {"name": env_secret}}]
    return {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}}


def deployment(
    namespace: str, name: str, *, replicas: int = 1, revision: int = 1, image: str = "app:1", **kw: Any
) -> Obj:
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(namespace, name, kw.pop("labels", None), annotations=annotations),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template(image, app=name, env_secret=kw.pop("env_secret", None)),
        },
    }


def replica_set(owner: Obj, revision: int, image: str) -> Obj:
    name = f"{owner['metadata']['name']}-{revision}abc"
    meta = _meta(
        owner["metadata"]["namespace"],
        name,
        annotations={"deployment.kubernetes.io/revision": str(revision)},
        ownerReferences=[{"kind": "Deployment", "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}],
    )
    tpl = template(image, app=owner["metadata"]["name"])
    tpl["metadata"]["labels"]["pod-template-hash"] = f"{revision}abc"
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta, "spec": {"template": tpl}}


def pod_of(
    rs: Obj | None,
    namespace: str,
    name: str,
    *,
    node: str = "node-1",
    labels: dict[str, str] | None = None,
    **spec: Any,
) -> Obj:
    owners = [{"kind": "ReplicaSet", "name": rs["metadata"]["name"], "uid": rs["metadata"]["uid"]}] if rs else []
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta(namespace, name, labels, ownerReferences=owners),
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "app:1"}], **spec},
        "status": {"phase": "Running"},
    }


def seed_deployment(
    kube: KubeEmulator, namespace: str, name: str, *, replicas: int = 1, revisions: int = 1, **kw: Any
) -> tuple[Obj, Obj]:
    """A Deployment with a ReplicaSet per revision (image app:<revision>) and one running pod: (deployment, pod)."""
    dep = deployment(namespace, name, replicas=replicas, revision=revisions, image=f"app:{revisions}", **kw)
    kube.put("apps", "v1", "deployments", namespace, dep)
    sets = [replica_set(dep, r, f"app:{r}") for r in range(1, revisions + 1)]
    for rs in sets:
        kube.put("apps", "v1", "replicasets", namespace, rs)
    pod = pod_of(sets[-1], namespace, f"{name}-{revisions}abc-x1")
    kube.put("", "v1", "pods", namespace, pod)
    return dep, pod


def evictions(kube: KubeEmulator, blocked: set[str]) -> list[str]:
    """Serve the Eviction API: a pod named in `blocked` is protected by a budget (429), others are deleted.
    Returns the list the evicted pods' names are appended to."""
    evicted: list[str] = []
    pods = kmock.resource("", "v1", "pods")

    def evict(request: kmock.Request) -> Obj:
        if request.name in blocked:
            raise kmock.KubernetesError(
                429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget."
            )
        assert kube.emulator is not None
        assert request.name is not None
        kube.emulator.objects[pods, request.namespace, request.name].delete()
        evicted.append(f"{request.namespace}/{request.name}")
        return {"kind": "Status", "apiVersion": "v1", "status": "Success"}

    kube.react("post", _EVICTION, evict)
    return evicted
