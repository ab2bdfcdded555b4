"""database_failover (needs approval): ask the database's operator, through the configured webhook, to fail
the database over to its replica. Nothing is undone afterwards: failing back is a human's decision.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from healer_common.contract.events import ResourceRef
from services.remediator.actions.plans import ActionContext, ActionPlan, Params
from services.remediator.actions.webhooks import webhook_plan


class DatabaseFailoverParams(Params):
    database: str = Field(min_length=1, max_length=253, description="e.g. orders, or {labels.database}")


async def plan(ctx: ActionContext, target: ResourceRef, raw: dict[str, Any]) -> ActionPlan:
    params = DatabaseFailoverParams.model_validate(raw)
    obj = ResourceRef(kind="Database", namespace=target.namespace, name=params.database)
    body = {"action": "failover", "database": params.database}
    summary = f"fail database {params.database} over"
    return webhook_plan(ctx, "database_failover_url", body, summary=summary, obj=obj)
