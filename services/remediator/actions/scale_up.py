"""scale_up (safe, within bounds): add replicas to the Deployment behind the target, never past
`maxReplicas`; undone (scaled back) when the playbook's rollback window ends, unless someone has changed the
replica count since.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field, model_validator

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import MERGE_PATCH, kube, labels_of, owning_deployment, read_or_none, ref
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected


class ScaleUpParams(Params):
    by: int = Field(1, ge=1, le=20, description="replicas to add (the seed writes `replicas: +1`)")
    max_replicas: int = Field(10, ge=1, le=200, description="never scale past this")

    @model_validator(mode="before")
    @classmethod
    def _replicas_is_by(cls, data: Any) -> Any:
        """The seed's `replicas: +1` adds one replica: only a relative count is a scale-up."""
        if isinstance(data, dict) and "replicas" in data:
            if "by" in data:
                raise ValueError("give `by` or `replicas`, not both")
            data = {**{k: v for k, v in data.items() if k != "replicas"}, "by": data["replicas"]}
        return data


def _path(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


def _patch(ctx: ActionContext, namespace: str, name: str, replicas: int) -> Call:
    apps = client.AppsV1Api(ctx.api)
    body = {"spec": {"replicas": replicas}}

    async def patch() -> object:
        return await kube(apps.patch_namespaced_deployment, name, namespace, body, _content_type=MERGE_PATCH)

    return Call(f'PATCH {_path(namespace, name)} {{"spec":{{"replicas":{replicas}}}}}', patch)


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = ScaleUpParams.model_validate(raw)
    if ctx.api is None:
        return not_connected(f"add {params.by} replica(s) to the Deployment behind {target}", target)
    deployment = await owning_deployment(ctx.api, ctx.run.workload or target)
    obj = ref("Deployment", deployment)
    namespace = obj.namespace or "default"
    current = int(deployment.get("spec", {}).get("replicas", 1))
    if current >= params.max_replicas:
        raise ActionFailed(
            f"{obj} already runs {current} replicas, the playbook's maxReplicas is {params.max_replicas}"
        )
    wanted = min(current + params.by, params.max_replicas)
    return ActionPlan(
        f"scale {obj} from {current} to {wanted} replicas",
        obj,
        labels_of(deployment),
        (_patch(ctx, namespace, obj.name, wanted),),
        undo={"namespace": namespace, "name": obj.name, "replicas": current, "set": wanted},
    )


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    namespace, name, previous, wanted = data["namespace"], data["name"], int(data["replicas"]), int(data["set"])
    obj = ResourceRef(kind="Deployment", namespace=namespace, name=name)
    if ctx.api is None:
        return not_connected(f"scale {obj} back to {previous} replicas", obj)
    deployment = await read_or_none(client.AppsV1Api(ctx.api).read_namespaced_deployment, name, namespace)
    if deployment is None:
        return ActionPlan(f"leave {obj} alone: it no longer exists", obj, {}, (), cluster_change=False)
    now = int(deployment.get("spec", {}).get("replicas", 1))
    if now != wanted:
        summary = f"leave {obj} at {now} replicas: someone changed it since Healer set {wanted}"
        return ActionPlan(summary, obj, labels_of(deployment), (), cluster_change=False)
    summary = f"scale {obj} back from {wanted} to {previous} replicas"
    return ActionPlan(summary, obj, labels_of(deployment), (_patch(ctx, namespace, name, previous),))
