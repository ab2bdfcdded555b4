"""The remediator's subscribers: incidents in, remediation runs out."""

from __future__ import annotations

from healer_common.bus import Service
from healer_common.incidents import Incident
from healer_common.streams import REMEDIATOR_INCIDENTS
from services.remediator.coordinator import RemediationCoordinator


def register(svc: Service, coordinator: RemediationCoordinator) -> None:
    @svc.consume(REMEDIATOR_INCIDENTS)
    async def on_incident(incident: Incident) -> None:
        if incident.state == "opened":
            await coordinator.on_opened(incident)
        elif incident.state == "resolved":
            await coordinator.on_resolved(incident)

    svc.every(5.0)(coordinator.expire)
