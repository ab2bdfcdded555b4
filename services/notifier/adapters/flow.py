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
from healer_common.runtime.publishing import waves
from healer_common.settings import NotifierSettings
from healer_common.settings.notifier import DEFAULT_RECEIVER, EscalationPolicy
from services.notifier import escalation, render, routing
from services.notifier.adapters.dispatch import Dispatcher
from services.notifier.adapters.escalation_store import EscalationStore
from services.notifier.adapters.incident_book import IncidentBook
from services.notifier.adapters.journal import Journal

ESCALATE_STEPS = frozenset({"escalate", "alert_escalate"})
"""Remediation steps that hand the incident to people: the next escalation level fires at once."""
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
        """The channels and escalation policy of a notification. The default receiver pages only for a
        critical incident, and under the seed's policy (nothing configured) only through its levels."""
        found = routing.match(self._cfg.route, labels)
        channels = routing.channels_for(found.receivers, self._cfg.receivers, self._dispatcher.names)
        policy = found.escalation or (None if self._cfg.escalations else escalation.SEED_POLICY)
        if found.receivers == (DEFAULT_RECEIVER,) and (
            policy == escalation.SEED_POLICY or labels.get("severity") != "critical"
        ):
            channels = [c for c in channels if c != escalation.PAGING]
        return channels, policy

    def _policy(self, name: str) -> EscalationPolicy | None:
        return escalation.seed_policy() if name == escalation.SEED_POLICY else self._cfg.escalations.get(name)

    async def incidents(self, incidents: list[Incident]) -> None:
        """A batch of revisions as it arrived: each incident's in order, one revision of each at a time, the rest
        side by side, each step done for all of them in one round trip (record, lock, sent-log, who heard,
        audits). Every one is tried; the first failure is raised after, and its redelivery sends only what is
        still owed (the sent-log)."""
        failures: list[Exception] = []
        for wave in waves(incidents, key=lambda incident: incident.incident_id):
            failures += await self._wave(wave)
        if failures:
            raise failures[0]

    async def _wave(self, incidents: list[Incident]) -> list[Exception]:
        """Each incident's note is kept before delivering (a remediation step arriving meanwhile is routed by
        it); the digest's journal only after, so a storm's wave reaches people a Redis write of every revision
        and alert sooner. A failure after delivering leaves the batch unacked: its redelivery journals it and
        sends nothing twice (the sent-log)."""
        notes = [render.for_incident(incident) for incident in incidents]
        await self._book.remember_many(list(zip(incidents, notes, strict=True)))
        told = [(i, n) for i, n in zip(incidents, notes, strict=True) if i.notify and not i.silenced]
        heard = await self._book.heard_by_many([i.incident_id for i, _ in told if i.state == "resolved"])
        plans = []
        for incident, note in told:
            channels, policy = self._route(note.labels)
            plans.append((incident, note, channels + sorted(heard.get(incident.incident_id, ())), policy))
        failed = await self._deliver_many([(note, channels) for _, note, channels, _ in plans])
        await self._start_escalations(
            [
                (incident.incident_id, policy)
                for incident, _, _, policy in plans
                if policy is not None and incident.state != "resolved" and incident.incident_id not in failed
            ]
        )
        await self._journal.record_incidents(incidents)
        for incident in incidents:
            if incident.state == "resolved":
                await self._stop_escalation(incident.incident_id, "resolved")
        return list(failed.values())

    async def _deliver_many(self, items: list[tuple[Notification, list[str]]]) -> dict[str, Exception]:
        """Deliver under the incidents' locks (taken at once; one held elsewhere is waited for alone) and
        remember who heard; {incident id: why} of those to retry."""
        failed: dict[str, Exception] = {}
        async with self._book.lock_many(note.incident_id or "" for note, _ in items) as terms:
            ours = [(note, channels) for note, channels in items if (note.incident_id or "") in terms]
            results = await self._dispatcher.deliver_many([(note, channels) for note, channels in ours], terms)
            reached = {note.incident_id or "": r for (note, _), r in zip(ours, results, strict=True)}
            await self._book.heard_many({i: r for i, r in reached.items() if isinstance(r, list)})
            failed |= {i: r for i, r in reached.items() if isinstance(r, Retryable)}
        for note, channels in items:
            if (note.incident_id or "") not in terms:
                try:
                    await self._deliver(note, channels)
                except Retryable as exc:
                    failed[note.incident_id or ""] = exc
        return failed

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
                await self._start_escalations([(incident.incident_id, policy)])
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
        if run.steps and run.steps[-1].action in ESCALATE_STEPS and run.steps[-1].outcome == "ok":
            await self._escalate_now(run, len(run.steps) - 1)

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

    async def _escalate_now(self, run: Remediation, index: int) -> None:
        """A remediation asked for people: the incident's next escalation level fires now, plus the channel the
        step names (the seed's `alert_escalate` with `channel`), unless someone already took the incident."""
        if not await self._escalations.claim_request(run.incident_id, f"{run.remediation_id}/{index}"):
            return  # this step was acted on before (a later revision of the run repeats it)
        incident_note = await self._book.note(run.incident_id)
        if incident_note is None:
            return
        current = await self._escalations.load(run.incident_id)
        if current is None:
            _, routed = self._route(incident_note.labels)
            name = routed or escalation.SEED_POLICY
            first = escalation.first_level(name)
            current = escalation.Escalation(run.incident_id, name, self._clock.now(), next_level=first)
            await self._escalations.start(current, self._clock.now())
        policy = self._policy(current.policy)
        if current.stopped or policy is None:
            reason = f"not escalated: {current.stopped or 'no escalation policy'}"
            await self._svc.audit(
                "escalate", "skipped", target=run.incident_id, reason=reason, incident_id=run.incident_id
            )
            return
        extra = run.steps[index].params.get("channel")
        level = escalation.now_level(policy, current)
        await self._fire(policy, current, level, incident_note, self._clock.now(), extra=str(extra) if extra else None)

    async def _start_escalations(self, starting: list[tuple[str, str]]) -> None:
        """Begin escalating each (incident id, policy name) not escalating yet, a wave's in a few round trips,
        and audit those this replica started."""
        now, begun = self._clock.now(), []
        for incident_id, policy_name in starting:
            if (policy := self._policy(policy_name)) is not None:
                started = escalation.Escalation(
                    incident_id, policy_name, now, next_level=escalation.first_level(policy_name)
                )
                begun.append((started, escalation.due_at(policy, started, 1)))
        ours = await self._escalations.start_many(begun)
        await self._svc.publish_many(
            [
                self._svc.audit_record(
                    "escalate", "started", target=e.incident_id, reason=f"policy {e.policy}", incident_id=e.incident_id
                )
                for e, _ in begun
                if e.incident_id in ours
            ]
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
        policy = self._policy(current.policy)
        decision = escalation.decide(policy, current, now)
        if decision.action != "fire" or policy is None:
            await self._escalations.schedule(incident_id, decision.at)
            return
        await self._fire(policy, current, decision.level, incident_note, now)

    async def _fire(
        self, policy: EscalationPolicy, current: escalation.Escalation, level: int,
        incident_note: Notification, now: dt.datetime, *, extra: str | None = None,
    ) -> None:  # fmt: skip
        note = escalation.level_notification(incident_note, policy, level, current.started_at, now)
        severity = incident_note.labels.get("severity", "")
        channels = escalation.level_channels(current.policy, policy, level, severity) + ([extra] if extra else [])
        await self._deliver(note, channels)
        metrics.ESCALATIONS.labels(str(level)).inc()
        await self._svc.audit(
            "escalate", f"level {level}", target=current.incident_id, reason=", ".join(channels),
            incident_id=current.incident_id, level=level,
        )  # fmt: skip
        advanced, next_due = escalation.after_firing(policy, current.at_level(level))
        if await self._escalations.advance(advanced):
            await self._escalations.schedule(current.incident_id, next_due)
