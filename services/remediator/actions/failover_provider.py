"""failover_provider (needs approval): switch the consumers of an external provider (a model API, GitHub, any
probed target) to its backup, by setting the key of the ConfigMap they read (`remediator.providers.<target>`:
`configMap`, `key`, `backup`), and switch them back once the primary has recovered (the alert resolved).
Approval, its timeout policy (`remediator.approval_on_timeout.failover_provider`), the guard rails, the rate
limit and dry runs apply as to any action. Switching back leaves the ConfigMap alone if someone changed it.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import MERGE_PATCH, kube, labels_of, read_existing, read_or_none
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected


class FailoverProviderParams(Params):
    provider: str | None = Field(
        None, description="the provider's name in remediator.providers; the target's when unset"
    )
    config_map: str | None = Field(
        None, description="namespace/name of the ConfigMap; the provider's setting when unset"
    )
    key: str | None = Field(None, description="the ConfigMap key; the provider's setting when unset")
    backup: str | None = Field(None, description="the provider to switch to; the provider's setting when unset")


def _set(ctx: ActionContext, obj: ResourceRef, key: str, value: str) -> Call:
    core, namespace = client.CoreV1Api(ctx.api), obj.namespace or "default"
    body = {"data": {key: value}}

    async def patch() -> object:
        return await kube(core.patch_namespaced_config_map, obj.name, namespace, body, _content_type=MERGE_PATCH)

    return Call(f'PATCH /api/v1/namespaces/{namespace}/configmaps/{obj.name} {{"data":{{"{key}":"{value}"}}}}', patch)


def _where(ctx: ActionContext, target: ResourceRef, params: FailoverProviderParams) -> tuple[ResourceRef, str, str]:
    name = params.provider or target.name
    known = ctx.settings.providers.get(name)
    if known is None and not (params.config_map and params.backup):
        configured = ", ".join(sorted(ctx.settings.providers)) or "none"
        raise ActionFailed(
            f"no failover is configured for provider {name!r} (configured: {configured}); "
            f"set remediator.providers.{name} with config_map and backup"
        )
    config_map = params.config_map or (known.config_map if known else "")
    namespace, _, map_name = config_map.partition("/")
    key = params.key or (known.key if known else "provider")
    backup = params.backup or (known.backup if known else "")
    return ResourceRef(kind="ConfigMap", namespace=namespace, name=map_name), key, backup


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = FailoverProviderParams.model_validate(raw)
    obj, key, backup = _where(ctx, target, params)
    if ctx.api is None:
        return not_connected(f"switch {obj} {key} to {backup}", obj)
    found = await read_existing(client.CoreV1Api(ctx.api).read_namespaced_config_map, obj.name, obj.namespace, what=obj)
    current = str((found.get("data") or {}).get(key, ""))
    if current == backup:
        summary = f"leave {obj} alone: {key} is already {backup}"
        return ActionPlan(summary, obj, labels_of(found), (), cluster_change=False)
    return ActionPlan(
        f"switch {obj} {key} from {current or '(unset)'} to {backup}",
        obj,
        labels_of(found),
        (_set(ctx, obj, key, backup),),
        undo={"namespace": obj.namespace, "name": obj.name, "key": key, "primary": current, "backup": backup},
    )


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    obj = ResourceRef(kind="ConfigMap", namespace=data["namespace"], name=data["name"])
    key, primary, backup = str(data["key"]), str(data["primary"]), str(data["backup"])
    if ctx.api is None:
        return not_connected(f"switch {obj} {key} back to {primary}", obj)
    found = await read_or_none(client.CoreV1Api(ctx.api).read_namespaced_config_map, obj.name, obj.namespace)
    if found is None:
        return ActionPlan(f"leave {obj} alone: it no longer exists", obj, {}, (), cluster_change=False)
    now = str((found.get("data") or {}).get(key, ""))
    if now != backup:
        summary = f"leave {obj} alone: {key} is {now}, changed since Healer set {backup}"
        return ActionPlan(summary, obj, labels_of(found), (), cluster_change=False)
    return ActionPlan(
        f"switch {obj} {key} back from {backup} to {primary}", obj, labels_of(found), (_set(ctx, obj, key, primary),)
    )
