"""The notifier's course of action for each input, composed from its parts: render (render.py), route
(routing.py), deliver (dispatch.py), remember (incident_book.py, journal.py) and escalate (escalation.py with
its Redis timers in escalation_store.py). handlers.py calls one method per message; nothing here decides
anything those modules do not already decide.
"""

from __future__ import annotations

import datetime as dt

from healer_common.clock import Clock
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.notifications import Notification
from healer_common.contract.remediations import Remediation
from healer_common.errors import Retryable
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service
from healer_common.settings import NotifierSettings
from healer_common.settings.notifier import EscalationPolicy
from services.notifier import escalation, render, routing
from services.notifier.adapters.dispatch import Dispatcher
from services.notifier.adapters.escalation_store import EscalationStore
from services.notifier.adapters.incident_book import IncidentBook
from services.notifier.adapters.journal import Journal

QUIET_STATES = frozenset({"planned"})
"""Remediation states nobody needs to hear about (the next state follows at once)."""
INCIDENT_WAIT_S = 24.0
INCIDENT_RETRY_S = 6.0
"""A remediation step that overtook its incident (two consumers) is redelivered every INCIDENT_RETRY_S until
INCIDENT_WAIT_S after it was published, then goes alone: inside the consumer's five deliveries, and long
enough for an incident held up by a loaded machine (8 s was seen to be too short)."""
RETRY_ESCALATION_S = 5.0


class NotifierFlow:
    def __init__(
        self,
        svc: Service,
        *,
        cfg: NotifierSettings,
        dispatcher: Dispatcher,
        book: IncidentBook,
        escalations: EscalationStore,
        journal: Journal,
        clock: Clock,
    ) -> None:
        self._svc = svc
        self._cfg = cfg
        self._dispatcher = dispatcher
        self._book = book
        self._escalations = escalations
        self._journal = journal
        self._clock = clock

    def _route(self, labels: dict[str, str]) -> tuple[list[str], str | None]:
        found = routing.match(self._cfg.route, labels)
        return routing.channels_for(found.receivers, self._cfg.receivers, self._dispatcher.names), found.escalation

    async def incident(self, incident: Incident) -> None:
        """Every revision is remembered; those the correlator marked worth telling (and not silenced) go out."""
        note = render.for_incident(incident)
        await self._journal.record_incident(incident)
        await self._book.remember(incident, note)
        told = incident.notify and not incident.silenced
        if told:
            channels, policy = self._route(note.labels)
            if incident.state == "resolved":
                channels += sorted(await self._book.heard_by(incident.incident_id))
            await self._deliver(note, channels)
            if policy is not None and incident.state != "resolved":
                await self._start_escalation(incident.incident_id, policy)
        if incident.state == "resolved":
            await self._stop_escalation(incident.incident_id, "resolved")

    async def remediation(self, run: Remediation) -> None:
        """A step of a remediation, threaded with its incident on the channels that heard of the incident."""
        await self._journal.record_remediation(run)
        asking = run.state == "awaiting_approval"
        if run.state in QUIET_STATES or (await self._book.silenced(run.incident_id) and not asking):
            return
        incident_note = await self._book.note(run.incident_id)
        if incident_note is None and (self._clock.now() - run.time).total_seconds() < INCIDENT_WAIT_S:
            raise Retryable(f"remediation {run.remediation_id} overtook its incident", delay=INCIDENT_RETRY_S)
        note = render.for_remediation(run, incident_note.labels if incident_note else None)
        channels, _ = self._route(note.labels)
        await self._deliver(note, channels + sorted(await self._book.heard_by(run.incident_id)))

    async def acknowledged(self, ack: IncidentAck) -> None:
        """Someone took the incident: escalation stops, and the channels that heard of it are told."""
        await self._stop_escalation(ack.incident_id, f"acknowledged by {ack.by} via {ack.source}")
        incident_note = await self._book.note(ack.incident_id)
        if incident_note is None:
            self._svc.log.warning("ack_for_unknown_incident", incident_id=ack.incident_id, by=ack.by)
            return
        await self._deliver(render.for_ack(ack, incident_note), sorted(await self._book.heard_by(ack.incident_id)))

    async def _deliver(self, note: Notification, channels: list[str]) -> None:
        """Deliver under the incident's lock and remember who heard, so later news reaches them too."""
        incident_id = note.incident_id or ""
        async with self._book.lock(incident_id):
            await self._book.heard(incident_id, await self._dispatcher.deliver(note, channels))

    async def _start_escalation(self, incident_id: str, policy_name: str) -> None:
        policy = self._cfg.escalations[policy_name]
        started = escalation.Escalation(incident_id, policy_name, self._clock.now())
        if await self._escalations.start(started, escalation.due_at(policy, started, 1)):
            await self._svc.audit(
                "escalate", "started", target=incident_id, reason=f"policy {policy_name}", incident_id=incident_id
            )

    async def _stop_escalation(self, incident_id: str, reason: str) -> None:
        stopped = await self._escalations.stop(incident_id, reason)
        if stopped is not None:
            await self._svc.audit(
                "escalate", "stopped", target=incident_id, reason=reason, incident_id=incident_id,
                next_level=stopped.next_level,
            )  # fmt: skip

    async def escalation_tick(self) -> None:
        """Fire every escalation level that came due (the periodic task; each replica claims its own)."""
        now = self._clock.now()
        for incident_id in await self._escalations.claim_due(now):
            try:
                await self._escalate(incident_id, now)
            except Retryable as exc:
                retry_at = now + dt.timedelta(seconds=max(exc.delay, RETRY_ESCALATION_S))
                await self._escalations.schedule(incident_id, retry_at)
                self._svc.log.warning("escalation_retry", incident_id=incident_id, error=str(exc))

    async def _escalate(self, incident_id: str, now: dt.datetime) -> None:
        current = await self._escalations.load(incident_id)
        incident_note = await self._book.note(incident_id)
        if current is None or incident_note is None:
            await self._escalations.schedule(incident_id, None)
            return
        policy = self._cfg.escalations.get(current.policy)
        decision = escalation.decide(policy, current, now)
        if decision.action != "fire" or policy is None:
            await self._escalations.schedule(incident_id, decision.at)
            return
        await self._fire(policy, current, decision.level, incident_note, now)

    async def _fire(
        self, policy: EscalationPolicy, current: escalation.Escalation, level: int,
        incident_note: Notification, now: dt.datetime,
    ) -> None:  # fmt: skip
        note = escalation.level_notification(incident_note, policy, level, current.started_at, now)
        channels: list[str] = list(policy.levels[level - 1].channels)
        await self._deliver(note, channels)
        metrics.ESCALATIONS.labels(str(level)).inc()
        await self._svc.audit(
            "escalate", f"level {level}", target=current.incident_id, reason=", ".join(channels),
            incident_id=current.incident_id, level=level,
        )  # fmt: skip
        advanced, next_due = escalation.after_firing(policy, current)
        if await self._escalations.advance(advanced):
            await self._escalations.schedule(current.incident_id, next_due)
