"""notify (safe): tell people something at this point of the playbook. The step's detail is the message; the
run is republished with it, and the notifier renders it on every channel.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.plans import ActionContext, ActionPlan, Params


class NotifyParams(Params):
    message: str = Field("{title}", min_length=1, max_length=2000, description="what to tell; {title} and friends")


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    del ctx
    params = NotifyParams.model_validate(raw)
    return ActionPlan(params.message, target, {}, (), cluster_change=False)
