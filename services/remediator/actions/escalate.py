"""escalate (safe): hand the incident to people now, at the next level of the notifier's escalation, instead of
waiting for its delays. The step (action `escalate`) is the request, its detail says why and its params say
where: `channel` (the seed's `alert_escalate` with `channel: pagerduty`) adds a channel to that level. The
notifier (flow.py) advances the incident's escalation when it sees the step.
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
    channel: str | None = Field(
        None, pattern=r"^[a-z][a-z0-9_-]*$", description="a notifier channel the next level must reach too"
    )


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    del ctx
    params = EscalateParams.model_validate(raw)
    where = f" (to {params.channel})" if params.channel else ""
    return ActionPlan(f"escalated{where}: {params.message}", target, {}, (), cluster_change=False)
