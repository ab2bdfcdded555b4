"""Reading and writing the cluster for the actions: the official client's calls run in a thread and answer
plain JSON dicts (so an object missing optional fields never trips the client's models), plus the lookups
several actions share (who owns a pod, which pods a selector picks).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from healer_common.contract.events import ResourceRef
from services.remediator.actions.plans import ActionFailed, TargetNotFound

MERGE_PATCH = "application/merge-patch+json"
REQUEST_TIMEOUT_S = 10.0


async def kube(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Call one client method off the event loop and return the answer's JSON body."""

    def call() -> dict[str, Any]:
        response = fn(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT_S, **kwargs)
        body = response.data
        return json.loads(body) if body else {}

    return await asyncio.to_thread(call)


async def read_or_none(fn: Callable[..., Any], *args: Any) -> dict[str, Any] | None:
    """An object, or None when it does not exist."""
    try:
        return await kube(fn, *args)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


async def read_existing(fn: Callable[..., Any], *args: Any, what: ResourceRef) -> dict[str, Any]:
    """An object the action needs; TargetNotFound naming it when it does not exist."""
    obj = await read_or_none(fn, *args)
    if obj is None:
        raise TargetNotFound(f"{what} does not exist")
    return obj


def require_kind(action: str, target: ResourceRef, kind: str) -> str:
    """The target's namespace, once the target is known to be of the kind the action acts on."""
    if target.kind != kind:
        raise ActionFailed(f"{action} acts on {kind} objects; the target is {target}")
    return target.namespace or "default"


async def list_items(
    fn: Callable[..., Any], *args: Any, label_selector: str | None = None, field_selector: str | None = None
) -> list[dict[str, Any]]:
    """Items of a list; a resource the cluster does not serve (its CRD is not installed) lists as empty."""
    kwargs = {k: v for k, v in (("label_selector", label_selector), ("field_selector", field_selector)) if v}
    try:
        items: list[dict[str, Any]] = (await kube(fn, *args, **kwargs)).get("items", [])
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise
    if label_selector:  # the selector again, client-side, for API servers that ignore it
        wanted = dict(part.split("=", 1) for part in label_selector.split(","))
        items = [i for i in items if selector_matches(wanted, labels_of(i))]
    return items


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj.get("metadata", {}).get("labels") or {})


def uid_of(obj: dict[str, Any]) -> str | None:
    uid = obj.get("metadata", {}).get("uid")
    return str(uid) if uid else None


def selector_matches(match_labels: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in match_labels.items())


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    """Whether `owner` is among obj's ownerReferences (by uid when both have one, else by kind and name)."""
    refs = obj.get("metadata", {}).get("ownerReferences") or []
    uid, name, kind = uid_of(owner), owner.get("metadata", {}).get("name"), owner.get("kind")
    return any(
        (r.get("uid") == uid) if uid and r.get("uid") else (r.get("name") == name and r.get("kind") == kind)
        for r in refs
    )


def _owner(obj: dict[str, Any], kind: str) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == kind:
            return str(ref.get("name"))
    return None


async def _deployment_name(api: client.ApiClient, target: ResourceRef) -> str:
    if target.kind == "Deployment":
        return target.name
    if target.kind != "Pod":
        raise ActionFailed(f"{target} is neither a Deployment nor a pod of one")
    namespace = target.namespace or "default"
    pod = await read_or_none(client.CoreV1Api(api).read_namespaced_pod, target.name, namespace)
    if pod is None:
        raise TargetNotFound(f"{target} no longer exists; its Deployment cannot be found")
    replica_set = _owner(pod, "ReplicaSet")
    apps = client.AppsV1Api(api)
    rs = await read_or_none(apps.read_namespaced_replica_set, replica_set, namespace) if replica_set else None
    name = _owner(rs, "Deployment") if rs else None
    if name is None:
        raise ActionFailed(f"{target} is not run by a Deployment (no ReplicaSet owned by one)")
    return name


async def owning_deployment(api: client.ApiClient, target: ResourceRef) -> dict[str, Any]:
    """The Deployment a target belongs to: itself, or a pod's ReplicaSet's owner."""
    namespace = target.namespace or "default"
    name = await _deployment_name(api, target)
    deployment = await read_or_none(client.AppsV1Api(api).read_namespaced_deployment, name, namespace)
    if deployment is None:
        raise TargetNotFound(f"deployment {namespace}/{name} does not exist")
    return deployment


QUEUE_LABEL = "healer.platform/queue"
"""A Deployment labelled with it consumes the named queue: a queue's backlog scales its consumers."""


async def queue_consumer(api: client.ApiClient, target: ResourceRef) -> ResourceRef | None:
    """The Deployment in the queue's namespace labelled `healer.platform/queue=<queue>`, if there is one."""
    namespace = target.namespace or "default"
    found = await list_items(
        client.AppsV1Api(api).list_namespaced_deployment, namespace, label_selector=f"{QUEUE_LABEL}={target.name}"
    )
    return ref("Deployment", found[0]) if found else None


async def inspect_target(api: client.ApiClient, target: ResourceRef) -> tuple[dict[str, str], ResourceRef | None]:
    """A pod target's labels and the Deployment behind it (None when it has none), read once at a run's start,
    so that later actions still find the Deployment after the pod itself has been replaced. A queue's
    Deployment is its consumer (QUEUE_LABEL)."""
    if target.kind == "Queue":
        return {}, await queue_consumer(api, target)
    if target.kind != "Pod":
        return {}, ResourceRef(
            kind="Deployment", namespace=target.namespace, name=target.name
        ) if target.kind == "Deployment" else None
    namespace = target.namespace or "default"
    pod = await read_or_none(client.CoreV1Api(api).read_namespaced_pod, target.name, namespace)
    if pod is None:
        return {}, None
    try:
        name = await _deployment_name(api, target)
    except ActionFailed:
        return labels_of(pod), None
    return labels_of(pod), ResourceRef(kind="Deployment", namespace=namespace, name=name)


def ref(kind: str, obj: dict[str, Any]) -> ResourceRef:
    meta = obj.get("metadata", {})
    return ResourceRef(kind=kind, namespace=meta.get("namespace"), name=meta["name"])


def short_json(body: Any) -> str:
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= 300 else text[:297] + "..."
