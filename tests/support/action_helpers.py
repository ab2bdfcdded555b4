"""Running one remediator action in-process against the Kubernetes emulator, as the action tests and the RBAC
test do: its context (a run on a pod of cto), its plan carried out, and its undo."""

from __future__ import annotations

import functools
from typing import Any

import httpx
from kubernetes import client

from healer_common.clock import ManualClock
from healer_common.contract.events import ResourceRef
from healer_common.settings import RemediatorSettings
from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.plans import ActionContext, Outcome, RunContext, carry_out
from services.remediator.guards import GuardPolicy, refusal

GUARDS = GuardPolicy("healer", ("healer",), "healer.platform/exclude")


def context(
    api: client.ApiClient | None, http: httpx.AsyncClient, target: ResourceRef, **settings: Any
) -> ActionContext:
    run = RunContext(
        remediation_id="0a1b2c3d4e5f6071",
        incident_id="inc-1",
        cluster="default",
        alert_ids=("H8",),
        target=target,
        labels={"alertname": "H8", "pod": target.name},
        title="memory pressure: pod cto/rex-1 reported OOMKilled",
        context="Incident inc-1: rex-1 keeps running out of memory.",
    )
    cfg = RemediatorSettings(**settings)
    return ActionContext(api, http, ManualClock(), cfg, run, functools.partial(refusal, policy=GUARDS))


async def run_action(
    ctx: ActionContext, kind: str, target: ResourceRef, params: dict[str, Any] | None = None, *, dry_run: bool = False
) -> Outcome:
    plan = await CATALOGUE[kind].plan(ctx, target, params or {})
    return await carry_out(kind, plan, ctx.clock, dry_run=dry_run)


async def undo(ctx: ActionContext, kind: str, data: dict[str, Any] | None) -> Outcome:
    restore = CATALOGUE[kind].undo
    assert restore is not None
    assert data is not None, f"{kind} left nothing to undo"
    return await carry_out(kind, await restore(ctx, data), ctx.clock, dry_run=False)


def pod_ref(name: str, namespace: str = "cto") -> ResourceRef:
    return ResourceRef(kind="Pod", namespace=namespace, name=name)
