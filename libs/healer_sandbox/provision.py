"""Bring the cluster up: the objects the base cluster and the chosen scenarios declare (nodes, namespaces,
Deployments with their Services, volumes, Argo CD Applications, Certificates and their Secrets, the CRDs of
the platform), and the `--pods N` filler: ordinary tenants' Deployments of ten replicas on nodes of their
own, so the collector can be measured against a cluster of thousands of pods.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

from healer_sandbox import argocd, certmanager, kinds, objects
from healer_sandbox.cluster import Cluster
from healer_sandbox.scenario import DeploymentSpec, NodeSpec, Scenario, VolumeSpec
from healer_sandbox.scrape import BASE_REPLICAS, MEMORY_AT_REST, USAGE
from healer_sandbox.store import meta
from healer_sandbox.units import format_bytes

FILL_REPLICAS = 10
FILL_PODS_PER_NODE = 100
FILL_NAMESPACES = 10


def _crd(custom: kinds.CustomResource) -> dict[str, Any]:
    version: dict[str, Any] = {
        "name": custom.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    if custom.status_subresource:
        version["subresources"] = {"status": {}}
    names = {
        "plural": custom.plural,
        "singular": custom.singular,
        "kind": custom.kind,
        "shortNames": list(custom.short_names),
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{custom.plural}.{custom.group}"},
        "spec": {"group": custom.group, "names": names, "scope": "Namespaced", "versions": [version]},
        "status": {"acceptedNames": names, "storedVersions": [custom.version]},
    }


def _ensure(cluster: Cluster, resource: Any, obj: dict[str, Any]) -> None:
    namespace = meta(obj).get("namespace")
    if cluster.store.get(resource, namespace, meta(obj)["name"]) is None:
        cluster.store.create(resource, obj)


def _deployment(cluster: Cluster, spec: DeploymentSpec) -> None:
    main = objects.container(
        spec.container or spec.name,
        spec.image,
        memory_limit=spec.memory_limit,
        memory_request=spec.memory_request,
        cpu_request=spec.cpu_request,
        env=spec.env,
    )
    deployment = objects.deployment(
        spec.namespace,
        spec.name,
        replicas=spec.replicas,
        containers=[main],
        labels=spec.labels,
        application=spec.application,
        claims=spec.volumes,
    )
    if spec.dedicated:
        pod_spec = deployment["spec"]["template"]["spec"]
        pod_spec["nodeSelector"] = {objects.DEDICATED: spec.dedicated}
        pod_spec["tolerations"] = [{"key": objects.DEDICATED, "operator": "Equal", "value": spec.dedicated}]
    annotations = {MEMORY_AT_REST: str(spec.memory_at_rest), BASE_REPLICAS: str(max(1, spec.replicas))}
    deployment["spec"]["template"]["metadata"]["annotations"] = annotations
    _ensure(cluster, kinds.DEPLOYMENTS, deployment)
    if spec.service_port:
        index = zlib.crc32(spec.ref.encode()) % 60000
        cluster_ip = f"10.96.{index // 250}.{index % 250 + 2}"
        _ensure(
            cluster,
            kinds.SERVICES,
            objects.service(spec.namespace, spec.name, {"app": spec.name}, spec.service_port, cluster_ip),
        )


def _volume(cluster: Cluster, spec: VolumeSpec) -> None:
    volume = f"pvc-{zlib.crc32(spec.ref.encode()):08x}"
    claim = objects.pvc(spec.namespace, spec.name, spec.capacity, volume, spec.storage_class)
    claim["metadata"]["annotations"][USAGE] = str(spec.usage)
    if spec.node:
        _ensure(cluster, kinds.PVS, objects.local_pv(volume, spec.capacity, spec.node, claim, spec.storage_class))
    _ensure(cluster, kinds.PVCS, claim)


def _node(cluster: Cluster, spec: NodeSpec) -> None:
    index = cluster.store.count(kinds.NODES) + 1
    memory = format_bytes(spec.memory)
    labels = {**spec.labels, objects.DEDICATED: spec.dedicated} if spec.dedicated else spec.labels
    node = objects.node(
        spec.name, index, cpu=spec.cpu, memory=memory, pods=spec.pods, labels=labels, now=cluster.clock.now()
    )
    if spec.dedicated:
        node["spec"]["taints"] = [{"key": objects.DEDICATED, "value": spec.dedicated, "effect": "NoSchedule"}]
    _ensure(cluster, kinds.NODES, node)


def scenario(cluster: Cluster, plan: Scenario) -> dict[str, int]:
    """Create what a scenario declares; returns the declared replicas of its Deployments (their usual load)."""
    now = cluster.clock.now()
    for node in plan.nodes:
        _node(cluster, node)
    for name in plan.used_namespaces():
        _ensure(cluster, kinds.NAMESPACES, objects.namespace(name))
    for volume in plan.volumes:
        _volume(cluster, volume)
    for deployment in plan.deployments:
        _deployment(cluster, deployment)
    for application in plan.applications:
        _ensure(cluster, kinds.APPLICATIONS, argocd.application(application, now))
    for spec in plan.certificates:
        certificate, secret = certmanager.certificate(spec, now)
        _ensure(cluster, kinds.SECRETS, secret)
        _ensure(cluster, kinds.CERTIFICATES, certificate)
    return {d.ref: max(1, d.replicas) for d in plan.deployments}


def crds(cluster: Cluster) -> None:
    for custom in kinds.CUSTOM:
        _ensure(cluster, kinds.CRDS, _crd(custom))


def filler(cluster: Cluster, pods: int) -> dict[str, int]:
    """`pods` more pods: tenants' Deployments of ten replicas over namespaces and nodes of their own."""
    if pods <= 0:
        return {}
    for index in range(math.ceil(pods / FILL_PODS_PER_NODE)):
        _node(
            cluster,
            NodeSpec(name=f"fill-node-{index + 1:03d}", cpu="16", memory=64 * 2**30, pods=FILL_PODS_PER_NODE + 10),
        )
    declared: dict[str, int] = {}
    for index in range(math.ceil(pods / FILL_REPLICAS)):
        replicas = min(FILL_REPLICAS, pods - index * FILL_REPLICAS)
        namespace = f"tenant-{index % FILL_NAMESPACES + 1:02d}"
        _ensure(cluster, kinds.NAMESPACES, objects.namespace(namespace))
        spec = DeploymentSpec(
            name=f"svc-{index + 1:04d}",
            namespace=namespace,
            image=f"registry.example.com/tenants/svc-{index % 7}:1.{index % 5}.0",
            replicas=replicas,
            memory_at_rest=0.2 + (index % 7) * 0.05,
        )
        _deployment(cluster, spec)
        declared[spec.ref] = replicas
    return declared
