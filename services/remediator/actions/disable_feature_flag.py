"""disable_feature_flag (needs approval): switch a feature flag off through the configured webhook; if that
made health worse, switch it on again.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.plans import ActionContext, ActionPlan, Params
from services.remediator.actions.webhooks import webhook_plan


class DisableFeatureFlagParams(Params):
    flag: str = Field(min_length=1, max_length=253, description="the flag's key, e.g. new-checkout")


def _switch(ctx: ActionContext, target: ResourceRef, flag: str, enabled: bool) -> ActionPlan:
    obj = ResourceRef(kind="FeatureFlag", namespace=target.namespace, name=flag)
    body = {"flag": flag, "enabled": enabled}
    summary = f"switch feature flag {flag} {'on' if enabled else 'off'}"
    return webhook_plan(ctx, "feature_flag_url", body, summary=summary, obj=obj)


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = DisableFeatureFlagParams.model_validate(raw)
    off = _switch(ctx, target, params.flag, enabled=False)
    undo = {"flag": params.flag, "namespace": target.namespace}
    return ActionPlan(off.summary, off.obj, off.labels, off.calls, undo=undo)


async def plan_undo(ctx: ActionContext, data: dict[str, Any]) -> ActionPlan:
    where = ResourceRef(kind="FeatureFlag", namespace=data.get("namespace"), name=data["flag"])
    return _switch(ctx, where, data["flag"], enabled=True)
