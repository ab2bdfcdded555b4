"""rollback_deployment (needs approval): put a Deployment's pod template back to its previous revision, as
`kubectl rollout undo` does (the template of the ReplicaSet with the next lower revision). If that made
health worse, it is rolled forward again to the revision it came from.
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
    owned_by,
    owning_deployment,
    ref,
)
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected
from services.remediator.merge_patch import merge_patch

REVISION = "deployment.kubernetes.io/revision"


class RollbackDeploymentParams(Params):
    to_revision: int | None = Field(None, ge=1, description="the revision to go back to; the previous one when unset")


def revision_of(obj: dict[str, Any]) -> int | None:
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION)
    return int(value) if value and str(value).isdigit() else None


def template_of(replica_set: dict[str, Any]) -> dict[str, Any]:
    """A ReplicaSet's pod template without the hash label its Deployment added."""
    template: dict[str, Any] = dict((replica_set.get("spec") or {}).get("template") or {})
    meta = dict(template.get("metadata") or {})
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    meta["labels"] = labels
    template["metadata"] = meta
    return template


def choose_revision(revisions: dict[int, dict[str, Any]], current: int, wanted: int | None) -> int:
    if wanted is not None:
        if wanted not in revisions:
            raise ActionFailed(f"revision {wanted} is not kept (kept: {sorted(revisions)})")
        return wanted
    older = [r for r in revisions if r < current]
    if not older:
        raise ActionFailed(f"no revision older than {current} is kept; there is nothing to roll back to")
    return max(older)


async def _plan_to(ctx: ActionContext, target: ResourceRef, wanted: int | None, verb: str) -> ActionPlan:
    assert ctx.api is not None
    deployment = await owning_deployment(ctx.api, target)
    obj = ref("Deployment", deployment)
    namespace = obj.namespace or "default"
    apps = client.AppsV1Api(ctx.api)
    sets = [rs for rs in await list_items(apps.list_namespaced_replica_set, namespace) if owned_by(rs, deployment)]
    revisions = {r: rs for rs in sets if (r := revision_of(rs)) is not None}
    current = revision_of(deployment) or max(revisions, default=0)
    chosen = choose_revision(revisions, current, wanted)
    template = (deployment.get("spec") or {}).get("template") or {}
    body = {
        "metadata": {"annotations": {"healer.platform/rolled-back-from": str(current)}},
        "spec": {"template": merge_patch(template, template_of(revisions[chosen]))},
    }

    async def patch() -> object:
        return await kube(apps.patch_namespaced_deployment, obj.name, namespace, body, _content_type=MERGE_PATCH)

    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{obj.name}"
    return ActionPlan(
        f"{verb} {obj} from revision {current} to revision {chosen}",
        obj,
        labels_of(deployment),
        (Call(f"PATCH {path} (spec.template of revision {chosen})", patch),),
        undo={"namespace": namespace, "name": obj.name, "revision": current},
    )


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = RollbackDeploymentParams.model_validate(raw)
    if ctx.api is None:
        return not_connected(f"roll the Deployment behind {target} back to its previous revision", target)
    return await _plan_to(ctx, ctx.run.workload or target, params.to_revision, "roll back")


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    obj = ResourceRef(kind="Deployment", namespace=data["namespace"], name=data["name"])
    if ctx.api is None:
        return not_connected(f"roll {obj} forward to revision {data['revision']}", obj)
    forward = await _plan_to(ctx, obj, int(data["revision"]), "roll forward")
    return ActionPlan(forward.summary, forward.obj, forward.labels, forward.calls)
