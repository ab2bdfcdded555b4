"""create_coderun (safe): hand a hard case to an AI agent by creating a CodeRun (agents.platform/v1), named,
labelled and shaped as today's Healer does, carrying the incident's story and what memory said (unless
`useMemory: false`). One CodeRun already Pending or Running for the same alert and pod means none is created:
the agent is already on it. Either way the run follows that CodeRun to its end (adapters/handoffs.py).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client
from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import kube, labels_of, list_items, read_or_none
from services.remediator.actions.plans import ActionContext, ActionPlan, Call, Params, not_connected

GROUP, VERSION, PLURAL = "agents.platform", "v1", "coderuns"
ACTIVE_PHASES = {None, "", "Pending", "Running"}


class CreateCodeRunParams(Params):
    task_id: int | None = Field(None, ge=0, description="the pod's task-id label when unset")
    github_app: str | None = Field(None, description="the agent; remediator.coderun_github_app when unset")
    model: str | None = None
    repository_url: str | None = None
    service: str | None = None
    prompt: str | None = Field(None, max_length=20_000, description="more instructions for the agent")
    use_memory: bool = Field(True, description="give the agent what memory remembers of such incidents")


def coderun_name(task_id: int, alert_id: str, remediation_id: str) -> str:
    return f"healer-remediation-task{task_id}-{alert_id.lower()}-{remediation_id[:8]}"


def coderun_labels(task_id: int, alert_id: str, pod: str) -> dict[str, str]:
    return {
        "remediation": "true",
        "alert-type": alert_id,
        "task-id": str(task_id),
        "target-pod": pod[:63],
        "agents.platform/type": "healer-remediation",
    }


def coderun_body(ctx: ActionContext, params: CreateCodeRunParams, task_id: int, pod: ResourceRef) -> dict[str, Any]:
    cfg, run = ctx.settings, ctx.run
    alert_id = run.alert_ids[0] if run.alert_ids else "EXT"
    app = params.github_app or cfg.coderun_github_app
    remembered = run.memory_context if params.use_memory else ""
    prompt = "\n\n".join(p for p in (run.context, remembered, params.prompt) if p)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "CodeRun",
        "metadata": {
            "name": coderun_name(task_id, alert_id, run.remediation_id),
            "namespace": cfg.coderun_namespace,
            "labels": coderun_labels(task_id, alert_id, pod.name),
        },
        "spec": {
            "taskId": task_id,
            "service": params.service or cfg.coderun_service,
            "repositoryUrl": params.repository_url or cfg.coderun_repository_url,
            "docsRepositoryUrl": cfg.coderun_docs_repository_url,
            "workingDirectory": cfg.coderun_working_directory,
            "model": params.model or cfg.coderun_model,
            "githubApp": app,
            "implementationAgent": app,
            "runType": "remediate",
            "env": {
                "HEALER_INCIDENT_ID": run.incident_id,
                "HEALER_REMEDIATION_ID": run.remediation_id,
                "ALERT_TYPE": alert_id,
                "TARGET_POD": pod.name,
                "TARGET_NAMESPACE": pod.namespace or "",
                "CLUSTER": run.cluster,
            },
            "promptModification": prompt or run.title,
            "acceptanceCriteria": f"{alert_id} on {pod} ({run.title}) resolves and stays resolved.",
        },
    }


async def _task_id(ctx: ActionContext, pod: ResourceRef, params: CreateCodeRunParams) -> int:
    if params.task_id is not None:
        return params.task_id
    labels = dict(ctx.run.labels)
    if ctx.api is not None and pod.kind == "Pod":
        found = await read_or_none(client.CoreV1Api(ctx.api).read_namespaced_pod, pod.name, pod.namespace or "default")
        labels.update(labels_of(found) if found else {})
    value = labels.get("task-id", "0")
    return int(value) if value.isdigit() else 0


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = CreateCodeRunParams.model_validate(raw)
    namespace = ctx.settings.coderun_namespace
    path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{PLURAL}"
    task_id = await _task_id(ctx, target, params)
    body = coderun_body(ctx, params, task_id, target)
    name = body["metadata"]["name"]
    if ctx.api is None:
        return not_connected(f"hand {target} to an AI agent (CodeRun {name})", target, f"POST {path} (CodeRun {name})")
    custom = client.CustomObjectsApi(ctx.api)
    labels = body["metadata"]["labels"]
    selector = ",".join(f"{k}={labels[k]}" for k in ("remediation", "alert-type", "target-pod"))
    for existing in await list_items(
        custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, label_selector=selector
    ):
        phase = (existing.get("status") or {}).get("phase")
        if phase in ACTIVE_PHASES:
            other = existing["metadata"]["name"]
            summary = (
                f"leave it to CodeRun {other}, already {phase or 'Pending'} for {labels['alert-type']} on {target.name}"
            )
            return ActionPlan(summary, target, {}, (), cluster_change=False, follow=(namespace, other))

    async def create() -> object:
        return await kube(custom.create_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, body)

    return ActionPlan(
        f"hand {target} to {body['spec']['githubApp']} (CodeRun {namespace}/{name})",
        target,  # the guards judge the pod it is about; the CodeRun is Healer's own hand-off
        {},
        (Call(f"POST {path} (CodeRun {name})", create),),
        follow=(namespace, name),
    )
