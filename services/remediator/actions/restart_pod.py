"""restart_pod (safe): delete the pod so its controller (ReplicaSet, StatefulSet, Job) starts a fresh one."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import kube, labels_of, read_existing, require_kind
from services.remediator.actions.plans import ActionContext, ActionPlan, Call, Params, not_connected


class RestartPodParams(Params):
    grace_period_seconds: int | None = Field(None, ge=0, le=3600, description="the pod's own when unset")


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = RestartPodParams.model_validate(raw)
    namespace = require_kind("restart_pod", target, "Pod")
    path = f"/api/v1/namespaces/{namespace}/pods/{target.name}"
    if ctx.api is None:
        return not_connected(f"restart {target}", target, f"DELETE {path}")
    core = client.CoreV1Api(ctx.api)
    pod = await read_existing(core.read_namespaced_pod, target.name, namespace, what=target)
    grace = params.grace_period_seconds
    extra = {} if grace is None else {"grace_period_seconds": grace}

    async def delete() -> object:
        return await kube(core.delete_namespaced_pod, target.name, namespace, **extra)

    query = "" if grace is None else f"?gracePeriodSeconds={grace}"
    return ActionPlan(
        f"restart {target} (deleted; its controller starts a fresh one)",
        target,
        labels_of(pod),
        (Call(f"DELETE {path}{query}", delete),),
    )
