"""The remediator's subscribers: incidents, approval answers and requests to run a playbook in; runs out (the
coordinator publishes them). Timers, playbook reloads and the agent coordination tick beside them.
"""

from __future__ import annotations

from healer_common.contract.incidents import Incident
from healer_common.contract.remediations import ApprovalDecision, PlaybookRunRequest
from healer_common.contract.streams import REMEDIATOR_APPROVALS, REMEDIATOR_INCIDENTS, REMEDIATOR_RUN_REQUESTS
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import elect
from healer_common.runtime.publishing import waves
from services.remediator.adapters.agent_coordination import AgentCoordinator
from services.remediator.adapters.coordinator import RemediationCoordinator
from services.remediator.adapters.runs import RunStore


def register(svc: Service, coordinator: RemediationCoordinator, runs: RunStore, agents: AgentCoordinator) -> None:
    @svc.consume_batch(
        REMEDIATOR_INCIDENTS, max_batch=svc.settings.remediator.batch_max, linger_s=svc.settings.remediator.linger_s
    )
    async def on_incidents(incidents: list[Incident]) -> None:
        """Revisions as they arrived: each incident's in order, the others side by side, what they need from
        Redis read and written a wave at a time (runtime/batches.py: a storm's thousand revisions cost their
        handling, not a middleware stack and a few round trips each). Every one is tried; the first failure is
        raised after, and the batch loop then hands each revision over on its own."""
        for wave in waves(incidents, key=lambda incident: incident.incident_id):
            await agents.incidents(wave)
            await coordinator.on_incidents(wave)

    @svc.consume(REMEDIATOR_APPROVALS, order_by=lambda decision: decision.remediation_id)
    async def on_approval(decision: ApprovalDecision) -> None:
        await coordinator.on_approval(decision)

    @svc.consume(REMEDIATOR_RUN_REQUESTS)
    async def on_request(request: PlaybookRunRequest) -> None:
        await coordinator.on_request(request)

    cfg = svc.settings.remediator
    svc.every(cfg.tick_s)(coordinator.tick)
    svc.every(cfg.playbook_reload_s)(coordinator.reload)
    agents_role = elect(svc, "remediator/agents")  # one replica looks at the agent platform and acts on it

    @svc.every(cfg.agents.interval_s)
    async def look_at_agents() -> None:
        if agents_role.leading:
            await agents.tick(agents_role.check())

    @svc.every(svc.settings.bus.heartbeat_interval_s)
    async def gauges() -> None:
        metrics.APPROVALS_WAITING.set(await runs.awaiting_approval())
