"""A playbook rehearsed against a target without changing anything: for each action, the exact API calls it
would make now (its plan reads the cluster; nothing is carried out), or why it could not run. This is
`healer playbooks run NAME --dry-run`.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.remediator.actions.catalogue import CATALOGUE
from services.remediator.actions.plans import ActionContext
from services.remediator.adapters.execution import PLAN_ERRORS
from services.remediator.matching import render_params
from services.remediator.playbooks import Playbook, PlaybookAction


@dataclass(frozen=True)
class Rehearsed:
    action: PlaybookAction
    summary: str
    calls: tuple[str, ...] = ()
    refused: str | None = None  # a guard would stop it
    error: str | None = None  # it could not be planned


async def rehearse(playbook: Playbook, ctx: ActionContext) -> list[Rehearsed]:
    """Plan every action of the playbook for `ctx.run.target`, whatever its condition; carry none out."""
    rehearsed = []
    run = ctx.run
    for action in playbook.actions:
        try:
            alert = run.alert_ids[0] if run.alert_ids else ""
            params = render_params(action.params, title=run.title, alert=alert, target=run.target, labels=run.labels)
            plan = await CATALOGUE[action.type].plan(ctx, run.target, params)
        except PLAN_ERRORS as exc:
            rehearsed.append(Rehearsed(action, "", error=str(exc)))
            continue
        calls = tuple(c.description for c in plan.calls)
        refused = ctx.protected(plan.obj, plan.labels)
        rehearsed.append(Rehearsed(action, plan.summary + "".join(f"; {n}" for n in plan.notes), calls, refused))
    return rehearsed
