"""The control plane's loops, one function each, run every tick: Deployments make a ReplicaSet per template
(revisions, rollouts that keep old pods until new ones are ready, rollbacks that revive an old ReplicaSet);
ReplicaSets and Jobs keep their pods; the scheduler binds pods to schedulable nodes (not cordoned ones,
and the node of a local volume); a cordoned node gets its taint; a grown PVC request expands the volume;
Services' Endpoints follow their ready pods; Events expire after an hour.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from typing import Any

from healer_sandbox import kinds, objects
from healer_sandbox.cluster import Cluster, container_statuses
from healer_sandbox.kubelet import RUN_SECONDS
from healer_sandbox.selectors import label_matcher, selector_from_match_labels
from healer_sandbox.store import NAME_ALPHABET, meta
from healer_sandbox.units import parse_quantity, rfc3339

EVENT_TTL = dt.timedelta(hours=1)
JOB_RUN_S = 30.0  # scenario seconds a Job's pod works before it completes
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def _revision(obj: dict[str, Any]) -> int:
    return int((meta(obj).get("annotations") or {}).get(objects.REVISION, "0"))


def _ready(pod: dict[str, Any]) -> bool:
    statuses = container_statuses(pod).values()
    return pod.get("status", {}).get("phase") == "Running" and bool(statuses) and all(s.get("ready") for s in statuses)


def _alive(pod: dict[str, Any]) -> bool:
    return pod.get("status", {}).get("phase") not in {"Succeeded", "Failed"} and not meta(pod).get("deletionTimestamp")


def _current_replicaset(cluster: Cluster, deployment: dict[str, Any], owned: list[dict[str, Any]]) -> dict[str, Any]:
    """The ReplicaSet of the Deployment's template: an old one revived (rollback) or a new revision."""
    wanted = cluster.template_hash(deployment)
    newest = max((_revision(rs) for rs in owned), default=0)
    current = next((rs for rs in owned if (meta(rs).get("labels") or {}).get("pod-template-hash") == wanted), None)
    if current is None:
        fresh = objects.replicaset(deployment, deployment["spec"]["template"], newest + 1)
        current = cluster.store.create(kinds.REPLICASETS, fresh)
        cluster.record(
            deployment,
            "ScalingReplicaSet",
            f"Scaled up replica set {meta(current)['name']}",
            component="deployment-controller",
        )
    elif _revision(current) < newest:
        annotations = {**(meta(current).get("annotations") or {}), objects.REVISION: str(newest + 1)}
        current = cluster.store.write(
            kinds.REPLICASETS, {**current, "metadata": {**meta(current), "annotations": annotations}}
        )
    return current


def deployments(cluster: Cluster, now: dt.datetime) -> None:
    for deployment in list(cluster.store.items(kinds.DEPLOYMENTS)):
        owned = cluster.owned(deployment, kinds.REPLICASETS)
        current = _current_replicaset(cluster, deployment, owned)
        desired = int(deployment["spec"].get("replicas", 1))
        cluster.put(kinds.REPLICASETS, current, {**current, "spec": {**current["spec"], "replicas": desired}})
        rolled_out = int(current.get("status", {}).get("readyReplicas", 0)) >= desired
        for old in owned:
            if meta(old)["uid"] != meta(current)["uid"]:
                keep = 0 if rolled_out else min(int(old["spec"].get("replicas", 0)), desired)
                cluster.put(kinds.REPLICASETS, old, {**old, "spec": {**old["spec"], "replicas": keep}})
        _deployment_status(cluster, deployment, current, now)


def _deployment_status(cluster: Cluster, deployment: dict[str, Any], current: dict[str, Any], now: dt.datetime) -> None:
    owned = cluster.owned(deployment, kinds.REPLICASETS)
    total = sum(int(rs.get("status", {}).get("replicas", 0)) for rs in owned)
    ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in owned)
    desired = int(deployment["spec"].get("replicas", 1))
    updated = int(current.get("status", {}).get("replicas", 0))
    old = deployment.get("status", {})
    available = ready >= desired
    reason = "NewReplicaSetAvailable" if available and updated == total else "ReplicaSetUpdated"
    conditions = [
        _deployment_condition(
            old, "Available", available, "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable", now
        ),
        _deployment_condition(old, "Progressing", True, reason, now),
    ]
    status = {
        "observedGeneration": meta(deployment).get("generation", 1),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(0, desired - ready),
        "conditions": conditions,
    }
    annotations = {**(meta(deployment).get("annotations") or {}), objects.REVISION: str(_revision(current))}
    fresh = {**deployment, "metadata": {**meta(deployment), "annotations": annotations}, "status": status}
    cluster.put(kinds.DEPLOYMENTS, deployment, fresh)


def _deployment_condition(old: dict[str, Any], kind: str, true: bool, reason: str, now: dt.datetime) -> dict[str, Any]:
    previous: dict[str, Any] = next((c for c in old.get("conditions") or [] if c.get("type") == kind), {})
    status = "True" if true else "False"
    same = previous.get("status") == status and previous.get("reason") == reason
    since = previous.get("lastTransitionTime") if same else rfc3339(now)
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "lastUpdateTime": since,
        "lastTransitionTime": since,
        "message": reason,
    }


def _new_pod_name(owner: dict[str, Any]) -> str:
    return f"{meta(owner)['name']}-{''.join(random.choice(NAME_ALPHABET) for _ in range(5))}"


def _victims(pods: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Which pods a ReplicaSet removes first: unscheduled, then not ready, then the youngest."""
    youngest_first = sorted(pods, key=lambda p: meta(p).get("creationTimestamp", ""), reverse=True)
    order = sorted(youngest_first, key=lambda p: (bool(p["spec"].get("nodeName")), _ready(p)))
    return sorted(order[:count], key=lambda p: meta(p)["name"])


def replicasets(cluster: Cluster, now: dt.datetime) -> None:
    del now
    for rs in list(cluster.store.items(kinds.REPLICASETS)):
        pods = [p for p in cluster.owned(rs, kinds.PODS) if _alive(p)]
        missing = int(rs["spec"].get("replicas", 0)) - len(pods)
        for _ in range(max(0, missing)):
            pod = objects.pod_from_template(rs, rs["spec"]["template"], _new_pod_name(rs))
            created = cluster.store.create(kinds.PODS, pod)
            pods.append(created)
            cluster.record(
                rs, "SuccessfulCreate", f"Created pod: {meta(created)['name']}", component="replicaset-controller"
            )
        for pod in _victims(pods, -missing) if missing < 0 else []:
            cluster.store.delete(kinds.PODS, meta(pod)["namespace"], meta(pod)["name"])
            pods.remove(pod)
            cluster.record(
                rs, "SuccessfulDelete", f"Deleted pod: {meta(pod)['name']}", component="replicaset-controller"
            )
        ready = sum(1 for p in pods if _ready(p))
        status = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": meta(rs).get("generation", 1),
        }
        cluster.put_status(kinds.REPLICASETS, rs, status)


def jobs(cluster: Cluster, now: dt.datetime) -> None:
    """A Job runs one pod to completion, then is Complete."""
    for job in list(cluster.store.items(kinds.JOBS)):
        status = dict(job.get("status") or {})
        if any(c.get("type") == "Complete" for c in status.get("conditions") or []):
            continue
        pods = cluster.owned(job, kinds.PODS)
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        active = [p for p in pods if _alive(p)]
        if not succeeded and not active:
            template = job["spec"]["template"]
            labels = {**(template.get("metadata", {}).get("labels") or {}), "job-name": meta(job)["name"]}
            annotations = {RUN_SECONDS: str(JOB_RUN_S)}
            meta_t = {**template.get("metadata", {}), "labels": labels, "annotations": annotations}
            pod = objects.pod_from_template(job, {**template, "metadata": meta_t}, _new_pod_name(job))
            pod["metadata"]["annotations"] = annotations
            active = [cluster.store.create(kinds.PODS, pod)]
            cluster.record(job, "SuccessfulCreate", f"Created pod: {meta(pod)['name']}", component="job-controller")
        status.update(active=len(active), succeeded=succeeded, startTime=status.get("startTime") or rfc3339(now))
        if succeeded:
            status.update(completionTime=rfc3339(now), active=0)
            status["conditions"] = [
                {
                    "type": "Complete",
                    "status": "True",
                    "lastProbeTime": rfc3339(now),
                    "lastTransitionTime": rfc3339(now),
                }
            ]
            cluster.record(job, "Completed", "Job completed", component="job-controller")
        cluster.put_status(kinds.JOBS, job, status)


def _local_node(cluster: Cluster, pod: dict[str, Any]) -> str | None:
    """The node a pod must run on because it mounts a local volume there."""
    for volume in pod["spec"].get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        pvc = cluster.store.get(kinds.PVCS, meta(pod)["namespace"], claim) if claim else None
        pv = cluster.store.get(kinds.PVS, None, pvc["spec"].get("volumeName", "")) if pvc else None
        terms = ((pv or {}).get("spec", {}).get("nodeAffinity") or {}).get("required", {}).get(
            "nodeSelectorTerms"
        ) or []
        for term in terms:
            for expression in term.get("matchExpressions") or []:
                return str(expression["values"][0])
    return None


def scheduler(cluster: Cluster, now: dt.datetime) -> None:
    """Bind each unscheduled pod to the least loaded Ready, schedulable node that it may run on."""
    pending = [p for p in cluster.store.items(kinds.PODS) if not p["spec"].get("nodeName") and _alive(p)]
    if not pending:
        return
    nodes = [n for n in cluster.store.items(kinds.NODES) if not n["spec"].get("unschedulable") and _node_ready(n)]
    load = Counter(p["spec"].get("nodeName") for p in cluster.store.items(kinds.PODS) if _alive(p))
    for pod in pending:
        pinned = _local_node(cluster, pod)
        fits = [
            n
            for n in nodes
            if pinned in (None, meta(n)["name"])
            and load[meta(n)["name"]] < int(n["status"]["allocatable"]["pods"])
            and _may_run_on(pod, n)
        ]
        if not fits:
            total = len(list(cluster.store.items(kinds.NODES)))
            message = f"0/{total} nodes are available: {total - len(nodes)} node(s) were unschedulable or not ready."
            condition = {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
                "lastProbeTime": None,
                "lastTransitionTime": rfc3339(now),
            }
            if pod.get("status", {}).get("conditions") != [condition]:
                cluster.put_status(
                    kinds.PODS, pod, {**pod.get("status", {}), "phase": "Pending", "conditions": [condition]}
                )
                cluster.record(pod, "FailedScheduling", message, warning=True, component="default-scheduler")
            continue
        node = min(fits, key=lambda n: (load[meta(n)["name"]], meta(n)["name"]))
        load[meta(node)["name"]] += 1
        cluster.store.write(kinds.PODS, {**pod, "spec": {**pod["spec"], "nodeName": meta(node)["name"]}})
        cluster.record(
            pod,
            "Scheduled",
            f"Successfully assigned {meta(pod)['namespace']}/{meta(pod)['name']} to {meta(node)['name']}",
            component="default-scheduler",
        )


def _may_run_on(pod: dict[str, Any], node: dict[str, Any]) -> bool:
    """The pod's nodeSelector matches the node, and it tolerates each NoSchedule taint (a cordon aside)."""
    labels = meta(node).get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
        return False
    tolerated = {(t.get("key"), t.get("value")) for t in pod["spec"].get("tolerations") or []}
    return all(
        (t.get("key"), t.get("value")) in tolerated
        for t in node["spec"].get("taints") or []
        if t.get("effect") == "NoSchedule" and t.get("key") != UNSCHEDULABLE_TAINT["key"]
    )


def _node_ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node.get("status", {}).get("conditions") or [])


def nodes(cluster: Cluster, now: dt.datetime) -> None:
    """A cordoned node (spec.unschedulable) carries the unschedulable taint; uncordoned, it loses it."""
    del now
    for node in list(cluster.store.items(kinds.NODES)):
        taints = [t for t in node["spec"].get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT["key"]]
        if node["spec"].get("unschedulable"):
            taints.append(UNSCHEDULABLE_TAINT)
        spec = {**node["spec"], "taints": taints} if taints or "taints" in node["spec"] else node["spec"]
        cluster.put(kinds.NODES, node, {**node, "spec": spec})


def volumes(cluster: Cluster, now: dt.datetime) -> None:
    """A PVC whose request grew beyond its capacity is expanded (the usage ratio drops accordingly)."""
    del now
    for pvc in list(cluster.store.items(kinds.PVCS)):
        wanted = pvc["spec"]["resources"]["requests"]["storage"]
        have = pvc.get("status", {}).get("capacity", {}).get("storage", wanted)
        if parse_quantity(wanted) > parse_quantity(have):
            cluster.put_status(kinds.PVCS, pvc, {**pvc["status"], "capacity": {"storage": wanted}})
            cluster.record(
                pvc,
                "VolumeResizeSuccessful",
                f"resize volume {meta(pvc)['name']} to {wanted}",
                component="external-resizer",
            )


def endpoints(cluster: Cluster, now: dt.datetime) -> None:
    """Each Service's Endpoints list the ready pods it selects (and the others as not ready)."""
    del now
    for service in list(cluster.store.items(kinds.SERVICES)):
        selector = service["spec"].get("selector")
        if not selector:
            continue
        namespace = meta(service)["namespace"]
        matches = label_matcher(selector_from_match_labels(selector))
        pods = [
            p
            for p in cluster.store.items(kinds.PODS, namespace)
            if matches(p) and _alive(p) and p.get("status", {}).get("podIP")
        ]
        port = service["spec"]["ports"][0]["port"]
        fresh = objects.endpoints(
            namespace, meta(service)["name"], [p for p in pods if _ready(p)], [p for p in pods if not _ready(p)], port
        )
        found = cluster.store.get(kinds.ENDPOINTS, namespace, meta(service)["name"])
        if found is None:
            cluster.store.create(kinds.ENDPOINTS, fresh)
        else:
            cluster.put(kinds.ENDPOINTS, found, {**found, "subsets": fresh["subsets"]})


def expire_events(cluster: Cluster, now: dt.datetime) -> None:
    cutoff = rfc3339(now - EVENT_TTL)
    for event in list(cluster.store.items(kinds.EVENTS)):
        if (event.get("lastTimestamp") or "") < cutoff:
            cluster.store.delete(kinds.EVENTS, meta(event)["namespace"], meta(event)["name"])
