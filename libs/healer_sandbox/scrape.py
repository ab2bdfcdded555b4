"""One scrape of the simulated exporters (cAdvisor, kubelet, node-exporter, kube-state-metrics, cert-manager,
Argo CD, the apps' own exporters): every metric signal of `healer_common.contract.signals` the cluster's state
implies right now, with exactly the labels signals.py lists for it, which are what the collector's query
pack aggregates by (`max by (namespace, pod, container) (...)`). Topology (nodes, owners, the pods that
mount a volume) is in the objects, where a collector finds it on a real cluster too.

Working sets come from the plays (a leak) or from each pod's usual use of its limit (annotation
`memory-at-rest` on the pod template), shared among the Deployment's replicas, so scaling moves them.
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, MutableMapping
from typing import Any

from healer_sandbox import argocd, certmanager, kinds
from healer_sandbox.cluster import Cluster, container_statuses, running
from healer_sandbox.series import Sample
from healer_sandbox.store import meta
from healer_sandbox.units import parse_quantity

MEMORY_AT_REST = "sandbox.healer.platform/memory-at-rest"
BASE_REPLICAS = "sandbox.healer.platform/base-replicas"
USAGE = "sandbox.healer.platform/usage"
API_LATENCY = {"GET": 0.045, "LIST": 0.21, "POST": 0.08, "PATCH": 0.06, "PUT": 0.07, "DELETE": 0.07}


def _wobble(key: str, now: dt.datetime, amplitude: float) -> float:
    """A small, smooth, per-series variation, so flat lines look like measurements."""
    phase = zlib.crc32(key.encode()) % 628 / 100
    return amplitude * math.sin(now.timestamp() / 120 + phase)


def _replicas(cluster: Cluster, pod: dict[str, Any]) -> int:
    """The current replicas of the Deployment that owns the pod (through its ReplicaSet), else 1."""
    for ref in meta(pod).get("ownerReferences") or []:
        if ref.get("kind") == "ReplicaSet":
            rs = cluster.store.get(kinds.REPLICASETS, meta(pod)["namespace"], ref["name"])
            for owner in meta(rs or {}).get("ownerReferences") or []:
                deployment = cluster.store.get(kinds.DEPLOYMENTS, meta(pod)["namespace"], owner["name"])
                return int((deployment or {}).get("spec", {}).get("replicas", 1))
    return 1


def _limit(spec: dict[str, Any]) -> float:
    return parse_quantity(spec.get("resources", {}).get("limits", {}).get("memory", "512Mi"))


def _request(spec: dict[str, Any]) -> float:
    return parse_quantity(spec.get("resources", {}).get("requests", {}).get("memory", "256Mi"))


def _cpu_request(spec: dict[str, Any]) -> float:
    return parse_quantity(spec.get("resources", {}).get("requests", {}).get("cpu", "100m"))


def containers(
    cluster: Cluster, now: dt.datetime, used: MutableMapping[str, float], requested: MutableMapping[str, float]
) -> Iterator[Sample]:
    """Per container: working set over limit, and restarts; adds bytes used per node and namespace."""
    for pod in cluster.store.items(kinds.PODS):
        metadata = meta(pod)
        node = pod["spec"].get("nodeName") or ""
        labels = {"namespace": metadata["namespace"], "pod": metadata["name"]}
        annotations = metadata.get("annotations") or {}
        at_rest = float(annotations.get(MEMORY_AT_REST, 0.3))
        share = (
            int(annotations.get(BASE_REPLICAS, 0)) / _replicas(cluster, pod) if BASE_REPLICAS in annotations else 1.0
        )
        specs = {c["name"]: c for c in pod["spec"]["containers"]}
        for name, status in container_statuses(pod).items():
            series = {**labels, "container": name}
            yield "container_restarts", series, float(status.get("restartCount", 0))
            if not running(pod) or "running" not in (status.get("state") or {}) or name not in specs:
                continue
            key = f"{metadata['uid']}/{name}"
            ratio = cluster.memory.get((metadata["uid"], name), at_rest * share + _wobble(key, now, 0.02))
            yield "container_memory_usage_ratio", series, max(0.0, ratio)
            used[node] += ratio * _limit(specs[name])
            used[f"ns/{metadata['namespace']}"] += ratio * _limit(specs[name])
            requested[metadata["namespace"]] += _request(specs[name])
            requested[f"node/{node}"] += _request(specs[name])
            requested[f"cpu/{node}"] += _cpu_request(specs[name])


def nodes(
    cluster: Cluster, now: dt.datetime, used: MutableMapping[str, float], requested: MutableMapping[str, float]
) -> Iterator[Sample]:
    pods = Counter(p["spec"].get("nodeName") for p in cluster.store.items(kinds.PODS) if running(p))
    for node in cluster.store.items(kinds.NODES):
        name = meta(node)["name"]
        allocatable = node["status"]["allocatable"]
        memory = parse_quantity(allocatable["memory"])
        yield "node_memory_usage_ratio", {"node": name}, min(1.0, 0.08 + used[name] / memory)
        yield "node_memory_request_ratio", {"node": name}, requested[f"node/{name}"] / memory
        yield "node_cpu_request_ratio", {"node": name}, requested[f"cpu/{name}"] / parse_quantity(allocatable["cpu"])
        yield (
            "node_cpu_usage_ratio",
            {"node": name},
            0.05 + 0.5 * pods[name] / int(allocatable["pods"]) + _wobble(name, now, 0.03),
        )
        yield "node_filesystem_usage_ratio", {"node": name, "mountpoint": "/"}, 0.38 + _wobble(f"fs/{name}", now, 0.01)


def volumes(cluster: Cluster) -> Iterator[Sample]:
    for pvc in cluster.store.items(kinds.PVCS):
        ref = f"{meta(pvc)['namespace']}/{meta(pvc)['name']}"
        labels = {"namespace": meta(pvc)["namespace"], "persistentvolumeclaim": meta(pvc)["name"]}
        at_rest = float((meta(pvc).get("annotations") or {}).get(USAGE, 0.3))
        yield "pvc_usage_ratio", labels, cluster.pvc_usage.get(ref, at_rest)


def platform(cluster: Cluster, now: dt.datetime) -> Iterator[Sample]:
    """cert-manager's and Argo CD's exporters, and the API server's latency."""
    for cert in cluster.store.items(kinds.CERTIFICATES):
        seconds = certmanager.expiry(cert, now)
        if seconds is not None:
            yield (
                "certificate_expiry_seconds",
                {"namespace": meta(cert)["namespace"], "certificate": meta(cert)["name"]},
                seconds,
            )
    for app in cluster.store.items(kinds.APPLICATIONS):
        labels = {"namespace": meta(app)["namespace"], "application": meta(app)["name"]}
        yield "argocd_app_revision_lag", labels, float(argocd.revision_lag(cluster, app))
    for verb, seconds in API_LATENCY.items():
        yield "apiserver_request_p99_seconds", {"verb": verb}, seconds + _wobble(verb, now, seconds / 10)


def samples(cluster: Cluster, now: dt.datetime) -> list[Sample]:
    """Everything one scrape finds."""
    used: defaultdict[str, float] = defaultdict(float)
    requested: defaultdict[str, float] = defaultdict(float)
    found = list(containers(cluster, now, used, requested))
    found += nodes(cluster, now, used, requested)
    found += volumes(cluster)
    found += platform(cluster, now)
    for namespace, bytes_requested in requested.items():
        ratio = used[f"ns/{namespace}"] / bytes_requested if bytes_requested else 0.0
        found.append(("namespace_memory_request_ratio", {"namespace": namespace}, ratio))
        cpu = 0.35 + _wobble(f"cpu/{namespace}", now, 0.05)
        found.append(("namespace_cpu_request_ratio", {"namespace": namespace}, cpu))
    found += [(signal, dict(labels), value) for (signal, labels), value in cluster.gauges.items()]
    return found
