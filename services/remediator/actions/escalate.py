"""escalate (safe): hand the incident to people now, at the next level of the notifier's escalation, instead of
waiting for its delays. The step (action `escalate`) is the request; its detail says why.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.plans import ActionContext, ActionPlan, Params


class EscalateParams(Params):
    message: str = Field(
        "Healer could not heal {target}; a person is needed", min_length=1, max_length=2000, description="why"
    )


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    del ctx
    params = EscalateParams.model_validate(raw)
    return ActionPlan(f"escalated: {params.message}", target, {}, (), cluster_change=False)
