"""Sample objects in the shape a Kubernetes API server returns them: what the sources read, for their
tests, the benchmark and the curious. Each builder gives the minimal real object; keyword arguments set the
few fields that matter to a case.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import uuid
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.collector.observations import Json, rfc3339


def meta(name: str, namespace: str | None = None, **extra: Any) -> Json:
    found: Json = {"name": name, "uid": uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}").hex}
    if namespace:
        found["namespace"] = namespace
    return {**found, **extra}


def running(name: str, *, ready: bool = True, restarts: int = 0, started: dt.datetime | None = None) -> Json:
    """A container status: running since `started`."""
    state = {"running": {"startedAt": rfc3339(started)} if started else {}}
    return {"name": name, "ready": ready, "restartCount": restarts, "state": state, "image": f"example/{name}:1"}


def waiting(name: str, reason: str, *, restarts: int = 0, image: str | None = None) -> Json:
    state = {"waiting": {"reason": reason, "message": f"{reason} for {name}"}}
    return {
        "name": name,
        "ready": False,
        "restartCount": restarts,
        "state": state,
        "image": image or f"example/{name}:1",
    }


def terminated(reason: str, exit_code: int, finished: dt.datetime) -> Json:
    return {"terminated": {"reason": reason, "exitCode": exit_code, "finishedAt": rfc3339(finished)}}


def pod(
    name: str,
    namespace: str = "cto",
    *,
    phase: str = "Running",
    containers: list[Json] | None = None,
    labels: dict[str, str] | None = None,
    node: str | None = "node-1",
    owner: tuple[str, str] | None = None,
    claims: tuple[str, ...] = (),
    memory_limit: str | None = "512Mi",
    **status: Any,
) -> Json:
    statuses = containers if containers is not None else [running(name.split("-", maxsplit=1)[0])]
    specs = [
        {
            "name": c["name"],
            "image": c.get("image"),
            "resources": {"limits": {"memory": memory_limit}} if memory_limit else {},
        }
        for c in statuses
    ]
    metadata = meta(name, namespace, labels=labels or {})
    if owner:
        metadata["ownerReferences"] = [
            {"kind": owner[0], "name": owner[1], "controller": True, "apiVersion": "apps/v1"}
        ]
    spec: Json = {
        "containers": specs,
        "volumes": [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims],
    }
    if node:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": {"phase": phase, "containerStatuses": statuses, **status},
    }


def node(
    name: str,
    *,
    ready: str = "True",
    pressures: tuple[str, ...] = (),
    cpu: str = "4",
    memory: str = "16Gi",
    cordoned_at: str | None = None,
) -> Json:
    """A node; `pressures` may name NetworkUnavailable too; `cordoned_at` cordons it (with the taint's time)."""
    conditions = [{"type": "Ready", "status": ready, "lastTransitionTime": "2026-01-05T08:00:00Z"}]
    conditions += [{"type": p, "status": "True", "lastTransitionTime": "2026-01-05T08:30:00Z"} for p in pressures]
    spec: Json = {}
    if cordoned_at is not None:
        taint = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": cordoned_at}
        spec = {"unschedulable": True, "taints": [taint]}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": meta(name),
        "spec": spec,
        "status": {"conditions": conditions, "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}},
    }


def deployment(
    name: str, namespace: str = "cto", *, image: str = "example/app:1", revision: int = 1, replicas: int = 2
) -> Json:
    template = {"spec": {"containers": [{"name": name, "image": image}]}}
    annotations = {"deployment.kubernetes.io/revision": str(revision)}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(name, namespace, annotations=annotations),
        "spec": {"replicas": replicas, "template": template},
    }


def replicaset(name: str, deployment_name: str, namespace: str = "cto") -> Json:
    owner = [{"kind": "Deployment", "name": deployment_name, "controller": True, "apiVersion": "apps/v1"}]
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta(name, namespace, ownerReferences=owner)}


def pvc(name: str, namespace: str = "cto", *, node_name: str | None = None) -> Json:
    annotations = {"volume.kubernetes.io/selected-node": node_name} if node_name else {}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta(name, namespace, annotations=annotations),
        "spec": {"resources": {"requests": {"storage": "10Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}},
    }


def tls_secret(name: str, certificate_pem: bytes, namespace: str = "cto", **annotations: str) -> Json:
    data = {"tls.crt": base64.b64encode(certificate_pem).decode(), "tls.key": ""}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": meta(name, namespace, annotations=annotations),
        "data": data,
    }


def certificate(name: str, not_after: dt.datetime, namespace: str = "cto") -> Json:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": meta(name, namespace),
        "spec": {"secretName": f"{name}-tls", "dnsNames": [f"{name}.example.com"]},
        "status": {"notAfter": rfc3339(not_after), "conditions": [{"type": "Ready", "status": "True"}]},
    }


def service(name: str, namespace: str = "cto", *, selector: dict[str, str] | None = None) -> Json:
    spec: Json = {"type": "ClusterIP", "ports": [{"port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, namespace), "spec": spec}


def endpoints(name: str, namespace: str = "cto", *, ready: int = 1, not_ready: int = 0) -> Json:
    subset: Json = {"ports": [{"port": 80}]}
    if ready:
        subset["addresses"] = [{"ip": f"10.0.0.{i + 1}"} for i in range(ready)]
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": f"10.0.1.{i + 1}"} for i in range(not_ready)]
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": meta(name, namespace), "subsets": [subset]}


def coderun(
    name: str, namespace: str = "cto", *, phase: str | None = "Running", run_type: str = "implementation"
) -> Json:
    spec = {"taskId": "42", "service": "api", "githubApp": "5DLabs-Rex", "runType": run_type, "model": "claude"}
    status = {"phase": phase} if phase else {}
    metadata = meta(name, namespace, creationTimestamp="2026-01-05T08:50:00Z")
    return {"apiVersion": "agents.platform/v1", "kind": "CodeRun", "metadata": metadata, "spec": spec, "status": status}


def application(
    name: str,
    namespace: str = "argocd",
    *,
    sync: str = "Synced",
    health: str = "Healthy",
    revision: str = "abc123",
    deployed: str = "abc123",
    chart: str | None = None,
    operation: Json | None = None,
) -> Json:
    source: Json = {"repoURL": "https://github.com/5dlabs/cto", "targetRevision": "main", "path": "apps"}
    if chart:
        source = {"repoURL": "https://charts.example.com", "chart": chart, "targetRevision": revision}
    status: Json = {
        "sync": {"status": sync, "revision": revision},
        "health": {"status": health},
        "history": [{"id": 1, "revision": deployed, "deployedAt": "2026-01-05T08:00:00Z"}],
    }
    if operation:
        status["operationState"] = operation
    spec = {"project": "default", "source": source, "destination": {"namespace": "cto"}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta(name, namespace),
        "spec": spec,
        "status": status,
    }


def warning_event(name: str, reason: str, message: str, involved: Json, when: dt.datetime, *, count: int = 1) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta(name, involved.get("namespace", "default")),
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "type": "Warning",
        "count": count,
        "lastTimestamp": rfc3339(when),
        "source": {"component": "kubelet"},
    }


def self_signed_certificate(not_after: dt.datetime, host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """A certificate for `host` (an IP address or a name) that is its own CA, and its key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alternative = x509.DNSName(host)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=90))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), private
