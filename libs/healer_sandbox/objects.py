"""Builders of the objects a cluster holds, as the API server returns them: complete enough that the official
client's typed models accept them (required fields present) and that a collector finds what it reads on a
real cluster (owner references, node names, Argo CD instance labels, container statuses, conditions).

Plain functions from parameters to dicts; the controllers and the scenario loader call them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from healer_sandbox.store import NAME_ALPHABET, meta
from healer_sandbox.units import format_bytes, rfc3339

INSTANCE_LABEL = "app.kubernetes.io/instance"  # Argo CD's default tracking label
REVISION = "deployment.kubernetes.io/revision"
KUBE_VERSION = "v1.30.4"


def template_hash(template: dict[str, Any]) -> str:
    """The `pod-template-hash` of a pod template: stable for the same template, as the controller makes it."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(NAME_ALPHABET[b % len(NAME_ALPHABET)] for b in digest[:10])


def owner_ref(owner: dict[str, Any], *, controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": meta(owner)["name"],
        "uid": meta(owner)["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **(labels or {})}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


DEDICATED = "dedicated"  # the label and taint key of nodes kept for some workloads (scenario `dedicated`)


def node_conditions(now: dt.datetime, *, memory_pressure: bool = False, ready: bool = True) -> list[dict[str, Any]]:
    stamp = rfc3339(now)
    rows = (
        (
            "MemoryPressure",
            memory_pressure,
            "KubeletHasInsufficientMemory" if memory_pressure else "KubeletHasSufficientMemory",
        ),
        ("DiskPressure", False, "KubeletHasNoDiskPressure"),
        ("PIDPressure", False, "KubeletHasSufficientPID"),
        ("Ready", ready, "KubeletReady" if ready else "KubeletNotReady"),
    )
    return [
        {
            "type": kind,
            "status": "True" if value else "False",
            "reason": reason,
            "message": reason,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
        }
        for kind, value, reason in rows
    ]


def node(
    name: str, index: int, *, cpu: str, memory: str, pods: int, labels: dict[str, str], now: dt.datetime
) -> dict[str, Any]:
    capacity = {"cpu": cpu, "memory": memory, "pods": str(pods), "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **labels},
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "providerID": f"sandbox://{name}"},
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": node_conditions(now),
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.0.{10 + index}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": f"boot-{name}",
                "containerRuntimeVersion": "containerd://1.7.20",
                "kernelVersion": "6.1.0-sandbox",
                "kubeProxyVersion": KUBE_VERSION,
                "kubeletVersion": KUBE_VERSION,
                "machineID": f"machine-{name}",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"uuid-{name}",
            },
        },
    }


def container(
    name: str, image: str, *, memory_limit: float, memory_request: float, cpu_request: str, env: dict[str, str]
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {
            "limits": {"memory": format_bytes(memory_limit)},
            "requests": {"memory": format_bytes(memory_request), "cpu": cpu_request},
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


def deployment(
    namespace_name: str,
    name: str,
    *,
    replicas: int,
    containers: list[dict[str, Any]],
    labels: dict[str, str],
    application: str | None,
    claims: list[str],
) -> dict[str, Any]:
    """A Deployment whose pods carry `app: <name>`, the given labels and the Argo CD instance label."""
    instance = {INSTANCE_LABEL: application} if application else {}
    pod_labels = {"app": name, **labels, **instance}
    volumes = [{"name": claim, "persistentVolumeClaim": {"claimName": claim}} for claim in claims]
    mounts = [{"name": claim, "mountPath": f"/data/{claim}"} for claim in claims]
    template = {
        "metadata": {"labels": pod_labels},
        "spec": {
            "containers": [{**c, "volumeMounts": mounts} if mounts else c for c in containers],
            "volumes": volumes,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace_name,
            "labels": {"app": name, **labels, **instance},
            "annotations": {},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
    }


def replicaset(owner: dict[str, Any], template: dict[str, Any], revision: int) -> dict[str, Any]:
    """The ReplicaSet a Deployment controller makes for a template (named after its pod-template-hash)."""
    pod_hash = template_hash(template)
    labels = {**template.get("metadata", {}).get("labels", {}), "pod-template-hash": pod_hash}
    owned_template = {**template, "metadata": {**template.get("metadata", {}), "labels": labels}}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta(owner)['name']}-{pod_hash}",
            "namespace": meta(owner)["namespace"],
            "labels": labels,
            "annotations": {REVISION: str(revision)},
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {**owner["spec"]["selector"]["matchLabels"], "pod-template-hash": pod_hash}},
            "template": owned_template,
        },
        "status": {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "observedGeneration": 1},
    }


def pod_from_template(owner: dict[str, Any], template: dict[str, Any], name: str) -> dict[str, Any]:
    """A Pod a controller creates from its template: Pending and unscheduled until the scheduler binds it."""
    spec = dict(template.get("spec", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta(owner)["namespace"],
            "labels": dict(template.get("metadata", {}).get("labels", {})),
            "ownerReferences": [owner_ref(owner)],
        },
        "spec": {**spec, "schedulerName": "default-scheduler", "dnsPolicy": "ClusterFirst"},
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    }


def event(
    involved: dict[str, Any], reason: str, message: str, now: dt.datetime, *, warning: bool, component: str
) -> dict[str, Any]:
    """A core/v1 Event about an object, as kubelet and controllers record them."""
    stamp = rfc3339(now)
    involved_meta = meta(involved)
    digest = hashlib.sha256(f"{involved_meta.get('uid')}{reason}{message}".encode()).hexdigest()[:16]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{involved_meta['name']}.{digest}",
            "namespace": involved_meta.get("namespace") or "default",
        },
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": involved_meta["name"],
            "namespace": involved_meta.get("namespace"),
            "uid": involved_meta.get("uid"),
            "resourceVersion": involved_meta.get("resourceVersion"),
        },
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "count": 1,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
    }


def pvc(namespace_name: str, name: str, capacity: float, volume: str, storage_class: str) -> dict[str, Any]:
    size = format_bytes(capacity)
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace_name,
            "annotations": {"pv.kubernetes.io/bind-completed": "yes"},
        },
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class,
            "volumeName": volume,
            "volumeMode": "Filesystem",
        },
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}},
    }


def local_pv(name: str, capacity: float, node_name: str, claim: dict[str, Any], storage_class: str) -> dict[str, Any]:
    """A local PersistentVolume pinned to a node (so a PVC signal can name the node it fills)."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": format_bytes(capacity)},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": storage_class,
            "local": {"path": f"/mnt/disks/{name}"},
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "namespace": meta(claim)["namespace"],
                "name": meta(claim)["name"],
            },
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}
                            ]
                        }
                    ]
                }
            },
        },
        "status": {"phase": "Bound"},
    }


def service(namespace_name: str, name: str, selector: dict[str, str], port: int, cluster_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace_name, "labels": {"app": name}},
        "spec": {
            "selector": selector,
            "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}],
            "clusterIP": cluster_ip,
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def endpoints(
    namespace_name: str, name: str, ready: list[dict[str, Any]], not_ready: list[dict[str, Any]], port: int
) -> dict[str, Any]:
    """The Endpoints of a Service from the pods it selects (empty subsets when no pod is ready)."""

    def address(pod: dict[str, Any]) -> dict[str, Any]:
        return {
            "ip": pod.get("status", {}).get("podIP", ""),
            "nodeName": pod.get("spec", {}).get("nodeName"),
            "targetRef": {
                "kind": "Pod",
                "namespace": namespace_name,
                "name": meta(pod)["name"],
                "uid": meta(pod)["uid"],
            },
        }

    subset: dict[str, Any] = {"ports": [{"name": "http", "port": port, "protocol": "TCP"}]}
    if ready:
        subset["addresses"] = [address(p) for p in ready]
    if not_ready:
        subset["notReadyAddresses"] = [address(p) for p in not_ready]
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace_name, "labels": {"app": name}},
        "subsets": [subset] if ready or not_ready else [],
    }


def tls_secret(namespace_name: str, name: str, cert_b64: str, key_b64: str, certificate: str | None) -> dict[str, Any]:
    annotations = {"cert-manager.io/certificate-name": certificate} if certificate else {}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace_name, "annotations": annotations},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": cert_b64, "tls.key": key_b64},
    }
