"""refresh_secrets (safe, as the seed lists it): after a Secret is rotated, restart the Deployments that use it
(a rollout restart, as `kubectl rollout restart` does) so they read the new value. If that does not heal, the
previous version is restored and the consumers restarted again, which is what makes it safe to run unasked.

Kubernetes keeps no history of a Secret, so the previous version is the one the rotation left beside it, in
`<name>-previous` (or the Secret named by `previousSecret`). Secret values never appear in a step or the audit.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import MERGE_PATCH, kube, labels_of, list_items, read_existing, read_or_none
from services.remediator.actions.plans import ActionContext, ActionFailed, ActionPlan, Call, Params, not_connected
from services.remediator.merge_patch import merge_patch

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class RefreshSecretsParams(Params):
    secret: str | None = Field(None, description="the Secret; the target's name when the target is a Secret")
    previous_secret: str | None = Field(None, description="where the previous version is kept; <secret>-previous")


def uses_secret(template: dict[str, Any], secret: str) -> bool:
    """Whether a pod template reads the Secret: env, envFrom, a volume or a projected volume."""
    spec = template.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for env in container.get("env") or []:
            if ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret:
                return True
        if any((e.get("secretRef") or {}).get("name") == secret for e in container.get("envFrom") or []):
            return True
    for volume in spec.get("volumes") or []:
        if (volume.get("secret") or {}).get("secretName") == secret:
            return True
        sources = (volume.get("projected") or {}).get("sources") or []
        if any((s.get("secret") or {}).get("name") == secret for s in sources):
            return True
    return False


def _restart(ctx: ActionContext, namespace: str, name: str) -> Call:
    apps = client.AppsV1Api(ctx.api)
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: ctx.clock.now().isoformat()}}}}}

    async def patch() -> object:
        return await kube(apps.patch_namespaced_deployment, name, namespace, body, _content_type=MERGE_PATCH)

    path = f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"
    return Call(f"PATCH {path} (spec.template annotation {RESTARTED_AT})", patch)


async def _consumers(ctx: ActionContext, namespace: str, secret: str) -> tuple[list[str], list[str]]:
    """Deployments that use the Secret, and those Healer must leave alone (with the reason)."""
    apps = client.AppsV1Api(ctx.api)
    users: list[str] = []
    left: list[str] = []
    for deployment in await list_items(apps.list_namespaced_deployment, namespace):
        if not uses_secret((deployment.get("spec") or {}).get("template") or {}, secret):
            continue
        name = deployment["metadata"]["name"]
        refusal = ctx.protected(ResourceRef(kind="Deployment", namespace=namespace, name=name), labels_of(deployment))
        if refusal:
            left.append(f"{name}: {refusal}")
        else:
            users.append(name)
    return sorted(users), left


def secret_namespaces_allow(ctx: ActionContext, namespace: str, obj: ResourceRef) -> None:
    """Secrets are Healer's to touch only where an operator opted in (remediator.secret_namespaces; the RBAC's
    secret-writes component grants the same namespaces)."""
    if namespace not in ctx.settings.secret_namespaces:
        listed = ", ".join(ctx.settings.secret_namespaces) or "none"
        raise ActionFailed(
            f"{obj} is in namespace {namespace!r}; refresh_secrets works only in remediator.secret_namespaces "
            f"(now: {listed}): list it there and grant the Secret writes (deploy/k8s/components/secret-writes)"
        )


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = RefreshSecretsParams.model_validate(raw)
    secret = params.secret or (target.name if target.kind == "Secret" else None)
    if secret is None:
        raise ActionFailed(f"refresh_secrets needs params.secret when the target ({target}) is not a Secret")
    namespace = target.namespace or "default"
    obj = ResourceRef(kind="Secret", namespace=namespace, name=secret)
    secret_namespaces_allow(ctx, namespace, obj)
    if ctx.api is None:
        return not_connected(f"restart the Deployments that use {obj}", obj)
    current = await read_existing(client.CoreV1Api(ctx.api).read_namespaced_secret, secret, namespace, what=obj)
    users, left = await _consumers(ctx, namespace, secret)
    if not users:
        raise ActionFailed(f"no Deployment in {namespace} that Healer may restart uses {obj}")
    undo = {"namespace": namespace, "secret": secret, "previous": params.previous_secret or f"{secret}-previous"}
    return ActionPlan(
        f"restart {', '.join(users)} to read the rotated {obj}",
        obj,
        labels_of(current),
        tuple(_restart(ctx, namespace, name) for name in users),
        undo={**undo, "consumers": users},
        notes=tuple(f"left alone: {why}" for why in left),
    )


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    namespace, secret, previous = data["namespace"], data["secret"], data["previous"]
    obj = ResourceRef(kind="Secret", namespace=namespace, name=secret)
    secret_namespaces_allow(ctx, namespace, obj)
    if ctx.api is None:
        return not_connected(f"restore {obj} from {previous}", obj)
    core = client.CoreV1Api(ctx.api)
    current = await read_or_none(core.read_namespaced_secret, secret, namespace)
    kept = await read_or_none(core.read_namespaced_secret, previous, namespace)
    if current is None or kept is None:
        raise ActionFailed(f"cannot restore {obj}: {secret if current is None else previous} does not exist")
    body = {"data": merge_patch(current.get("data") or {}, kept.get("data") or {})}

    async def restore() -> object:
        return await kube(core.patch_namespaced_secret, secret, namespace, body, _content_type=MERGE_PATCH)

    restore_call = Call(f"PATCH /api/v1/namespaces/{namespace}/secrets/{secret} (data from {previous})", restore)
    restarts = tuple(_restart(ctx, namespace, name) for name in data["consumers"])
    return ActionPlan(
        f"restore {obj} from {previous} and restart {', '.join(data['consumers'])}",
        obj,
        labels_of(current),
        (restore_call, *restarts),
    )
