"""The HTTP side of the webhook actions (database failover, feature flags): one signed-by-token JSON POST to a
URL from the settings, described exactly in the plan so a dry run shows what would be sent.
"""

from __future__ import annotations

from typing import Any

from healer_common.contract.events import ResourceRef
from services.remediator.actions.cluster import short_json
from services.remediator.actions.plans import ActionContext, ActionPlan, Call, NotConfigured


def webhook_plan(
    ctx: ActionContext, setting: str, body: dict[str, Any], *, summary: str, obj: ResourceRef
) -> ActionPlan:
    """POST `body` (plus the run's identity) to the URL in `remediator.<setting>`."""
    url: str | None = getattr(ctx.settings, setting)
    if not url:
        env = f"HEALER_REMEDIATOR__{setting.upper()}"
        raise NotConfigured(f"remediator.{setting} is not set; point {env} at the webhook that does this")
    payload = {
        **body,
        "cluster": ctx.run.cluster,
        "incident_id": ctx.run.incident_id,
        "remediation_id": ctx.run.remediation_id,
        "alerts": list(ctx.run.alert_ids),
    }
    token = ctx.settings.webhook_token
    headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token else {}

    async def post() -> object:
        response = await ctx.http.post(url, json=payload, headers=headers, timeout=ctx.settings.webhook_timeout_s)
        response.raise_for_status()
        return response

    return ActionPlan(summary, obj, {}, (Call(f"POST {url} {short_json(payload)}", post),))
