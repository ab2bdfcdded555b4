"""What `healer playbooks run NAME --target T --dry-run` prints: each action of the playbook with the exact API
calls it would make against the target now, and what would stop it. Nothing is changed: plans only read.
"""

from __future__ import annotations

import functools

import httpx

from healer_cli.runtime import console
from healer_common.clock import SystemClock
from healer_common.contract.events import ResourceRef
from healer_common.contract.messages import new_id
from healer_common.runtime.kube import api_client
from healer_common.settings import Settings
from services.remediator.actions.plans import ActionContext, RunContext
from services.remediator.adapters.rehearsal import rehearse
from services.remediator.guards import GuardPolicy, refusal
from services.remediator.playbooks import Playbook


async def print_rehearsal(settings: Settings, playbook: Playbook, target: ResourceRef) -> None:
    api = api_client(settings.cluster)
    run = RunContext(
        remediation_id=new_id()[:16],
        incident_id="dry-run",
        cluster=settings.cluster.name,
        alert_ids=tuple(playbook.trigger.alerts[:1]),
        target=target,
        labels={},
        title=f"dry run of {playbook.name} on {target}",
    )
    guards = GuardPolicy.from_settings(settings.remediator, settings.cluster.own_namespace)
    try:
        async with httpx.AsyncClient() as http:
            ctx = ActionContext(
                api, http, SystemClock(), settings.remediator, run, functools.partial(refusal, policy=guards)
            )
            rehearsed = await rehearse(playbook, ctx)
    finally:
        if api is not None:
            api.close()  # type: ignore[no-untyped-call]
    where = "no cluster is configured" if api is None else "nothing is changed"
    console.print(f"playbook {playbook.name} on {target} (dry run: {where})", markup=False)
    for i, item in enumerate(rehearsed, start=1):
        action = item.action
        when = "always" if action.condition == "always" else f"if {action.condition}"
        ask = ", needs approval" if action.needs_approval else ""
        console.print(
            f"{i}. {action.type} [{when}{ask}]: {f'cannot: {item.error}' if item.error else item.summary}",
            markup=False,
            highlight=False,
        )
        if item.refused:
            console.print(f"     refused: {item.refused}", markup=False, highlight=False)
        for call in item.calls:
            console.print(f"     {call}", markup=False, highlight=False, soft_wrap=True)
