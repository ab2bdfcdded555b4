"""retry_sync (safe): ask ArgoCD to sync an Application again, by setting `operation` on it, which is what the
ArgoCD CLI and UI do. Refused while a sync is already running.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import MERGE_PATCH, kube, labels_of, read_existing, require_kind, short_json
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"


class RetrySyncParams(Params):
    prune: bool = False


def operation(app: dict[str, Any], params: RetrySyncParams, remediation_id: str) -> dict[str, Any]:
    status, spec = app.get("status") or {}, app.get("spec") or {}
    revision = (status.get("sync") or {}).get("revision") or (spec.get("source") or {}).get("targetRevision") or "HEAD"
    return {
        "operation": {
            "initiatedBy": {"username": "healer", "automated": True},
            "info": [{"name": "reason", "value": f"healer remediation {remediation_id}"}],
            "sync": {"revision": revision, "prune": params.prune, "syncStrategy": {"hook": {}}},
        }
    }


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = RetrySyncParams.model_validate(raw)
    namespace = require_kind("retry_sync", target, "Application")
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}/{target.name}"
    if ctx.api is None:
        return not_connected(f"sync {target} again", target, f"PATCH {path}")
    custom = client.CustomObjectsApi(ctx.api)
    app = await read_existing(
        custom.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, target.name, what=target
    )
    running = ((app.get("status") or {}).get("operationState") or {}).get("phase") == "Running"
    if running:
        raise ActionFailed(f"{target} is already syncing; not starting another sync")
    body = operation(app, params, ctx.run.remediation_id)

    async def patch() -> object:
        return await kube(
            custom.patch_namespaced_custom_object,
            GROUP,
            VERSION,
            namespace,
            PLURAL,
            target.name,
            body,
            _content_type=MERGE_PATCH,
        )

    revision = body["operation"]["sync"]["revision"]
    return ActionPlan(
        f"sync {target} again at revision {revision}",
        target,
        labels_of(app),
        (Call(f"PATCH {path} {short_json(body)}", patch),),
    )
