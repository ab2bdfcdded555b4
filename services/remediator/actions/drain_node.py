"""drain_node (needs approval): cordon a node, then evict its pods through the Eviction API, so every
PodDisruptionBudget is honoured (the API server answers 429 while a budget allows no disruption).

As `kubectl drain` does, DaemonSet pods, mirror pods and finished pods stay. Pods Healer must never touch
(its own namespace, platform infrastructure, the protect label) stay too and are named in the step. Evictions
a budget refuses fail the attempt; the playbook's `retry` tries the rest again later, without blocking.
If the drain made health worse, the node is uncordoned.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import (
    MERGE_PATCH,
    kube,
    labels_of,
    list_items,
    read_existing,
    read_or_none,
    ref,
    require_kind,
)
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected


class DrainNodeParams(Params):
    grace_period_seconds: int | None = Field(None, ge=0, le=3600, description="each pod's own when unset")


def stays(pod: dict[str, Any]) -> str | None:
    """Why `kubectl drain` would leave this pod, or None when it is evicted."""
    meta = pod.get("metadata", {})
    if any(r.get("kind") == "DaemonSet" for r in meta.get("ownerReferences") or []):
        return "DaemonSet pod"
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return "mirror pod"
    if (pod.get("status") or {}).get("phase") in {"Succeeded", "Failed"}:
        return "finished"
    return None


def _cordon(ctx: ActionContext, node: str, unschedulable: bool) -> Call:
    core = client.CoreV1Api(ctx.api)
    body = {"spec": {"unschedulable": unschedulable}}

    async def patch() -> object:
        return await kube(core.patch_node, node, body, _content_type=MERGE_PATCH)

    return Call(f'PATCH /api/v1/nodes/{node} {{"spec":{{"unschedulable":{str(unschedulable).lower()}}}}}', patch)


def _evict(ctx: ActionContext, pod: ResourceRef, grace: int | None) -> Call:
    core = client.CoreV1Api(ctx.api)
    namespace = pod.namespace or "default"
    body: dict[str, Any] = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod.name, "namespace": namespace},
    }
    if grace is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": grace}

    async def evict() -> object:
        try:
            return await kube(core.create_namespaced_pod_eviction, pod.name, namespace, body)
        except client.ApiException as exc:
            if exc.status == 429:
                raise ActionFailed("refused: a PodDisruptionBudget allows no disruption now (429)") from None
            if exc.status == 404:
                return {}  # already gone: what eviction wanted
            raise

    return Call(f"POST /api/v1/namespaces/{namespace}/pods/{pod.name}/eviction", evict, independent=True)


async def _pods_on(ctx: ActionContext, node: str) -> tuple[list[ResourceRef], list[str]]:
    core = client.CoreV1Api(ctx.api)
    pods = await list_items(core.list_pod_for_all_namespaces, field_selector=f"spec.nodeName={node}")
    evict, left = [], []
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") != node:
            continue  # the field selector again, client-side
        pod_ref = ref("Pod", pod)
        why = stays(pod) or ctx.protected(pod_ref, labels_of(pod))
        if why is None:
            evict.append(pod_ref)
        elif not stays(pod):
            left.append(f"{pod_ref.namespace}/{pod_ref.name}: {why}")
    return evict, left


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = DrainNodeParams.model_validate(raw)
    require_kind("drain_node", target, "Node")
    if ctx.api is None:
        return not_connected(f"cordon and drain {target}", target, f"PATCH /api/v1/nodes/{target.name}")
    node = await read_existing(client.CoreV1Api(ctx.api).read_node, target.name, what=target)
    was_cordoned = bool((node.get("spec") or {}).get("unschedulable"))
    evict, left = await _pods_on(ctx, target.name)
    calls = ([] if was_cordoned else [_cordon(ctx, target.name, True)]) + [
        _evict(ctx, p, params.grace_period_seconds) for p in evict
    ]
    return ActionPlan(
        f"cordon {target} and evict its {len(evict)} pod(s)",
        target,
        labels_of(node),
        tuple(calls),
        undo=None if was_cordoned else {"node": target.name},
        notes=tuple(f"left alone: {why}" for why in left),
    )


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    obj = ResourceRef(kind="Node", name=data["node"])
    if ctx.api is None:
        return not_connected(f"uncordon {obj}", obj)
    node = await read_or_none(client.CoreV1Api(ctx.api).read_node, obj.name)
    if node is None:
        return ActionPlan(f"leave {obj} alone: it no longer exists", obj, {}, (), cluster_change=False)
    return ActionPlan(f"uncordon {obj}", obj, labels_of(node), (_cordon(ctx, obj.name, False),))
