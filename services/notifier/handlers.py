"""The notifier's subscribers: incidents and remediation runs in, notifications out."""

from __future__ import annotations

from healer_common.bus import Service
from healer_common.incidents import Incident
from healer_common.remediations import Remediation
from healer_common.streams import NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from services.notifier.dispatch import Dispatcher
from services.notifier.render import for_incident, for_remediation

QUIET_STATES = frozenset({"planned"})


def register(svc: Service, dispatcher: Dispatcher) -> None:
    @svc.consume(NOTIFIER_INCIDENTS)
    async def on_incident(incident: Incident) -> None:
        if incident.notify:  # the correlator's call: group_wait/interval, repeat, silences, inhibition
            await dispatcher.deliver(for_incident(incident))

    @svc.consume(NOTIFIER_REMEDIATIONS)
    async def on_remediation(run: Remediation) -> None:
        if run.state not in QUIET_STATES:
            await dispatcher.deliver(for_remediation(run))
