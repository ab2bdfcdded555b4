"""What a person does through the API (the web page's buttons, `healer dashboard`'s keys, any HTTP client):
approve or deny a run, acknowledge an incident, create or end a silence.

Each goes the one way the CLI goes: an answer is an ApprovalDecision on `healer.approvals.<id>`, an
acknowledgement an IncidentAck on `healer.acks.<id>`, a silence a record in Redis that every correlator
reads. Each is audited on `healer.audit.api`, naming the person: the caller's credential (the guard in front of
the write routes checked it), never a name in the body. A request about something that is not
there, or no longer waits, is refused with the reason (`Refused`), and nothing is published.
"""

from __future__ import annotations

import datetime as dt
import uuid

from healer_common.contract.auth import Principal, attest_as
from healer_common.contract.incidents import IncidentAck
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalDecision
from healer_common.contract.silences import Silence
from healer_common.contract.views import Accepted, AckRequest, ApprovalAnswer, SilenceRequest
from healer_common.runtime.bus import Service
from healer_common.runtime.silence_store import SilenceStore
from services.api.adapters.reads import BusReads
from services.api.dashboard import current_incidents, waiting_approvals


class Refused(Exception):
    """The request cannot be carried out; `status` is the HTTP status that says why (404, 409)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Writes:
    def __init__(self, svc: Service, reads: BusReads) -> None:
        self._svc = svc
        self._reads = reads
        self._silences = SilenceStore(svc.redis, svc.keys)

    async def answer(self, remediation_id: str, answer: ApprovalAnswer, principal: Principal) -> Accepted:
        """Publish the answer signed on behalf of the caller's credential, who the remediator says answered (and
        whose approve:<level> it checks); a `by` in the body is not who answered."""
        waiting = waiting_approvals(await self._reads.recent_remediations(), self._svc.clock.now())
        if not any(card.remediation_id == remediation_id for card in waiting):
            raise Refused(
                f"no remediation {remediation_id} waits for an answer (GET /api/v1/approvals lists them)", 409
            )
        decision = ApprovalDecision(
            event_id=stable_id("api-approval", remediation_id, answer.decision, principal.name),
            remediation_id=remediation_id,
            decision=answer.decision,
            by=principal.name,
            reason=answer.reason,
        )
        signed = attest_as(self._svc.gate.keyring(), principal, decision.statement(), self._svc.clock.now())
        if signed is None:
            raise Refused(f"credential {principal.name!r} signs requests but has no token; approvals need one", 403)
        await self._svc.publish(decision.evolve(attestation=signed))
        await self._svc.audit(
            "approval", answer.decision, remediation_id=remediation_id, reason=answer.reason or "", by=principal.name
        )
        return Accepted(accepted=answer.decision, id=remediation_id, subject=self._svc.space.approvals(remediation_id))

    async def ack(self, incident_id: str, request: AckRequest, principal: Principal) -> Accepted:
        status = await self._reads.status()
        open_now = current_incidents(status.incidents, await self._reads.recent_incidents())
        if not any(i.incident_id == incident_id for i in open_now):
            raise Refused(f"no open incident {incident_id} (GET /api/v1/incidents lists them)", 404)
        ack = IncidentAck(incident_id=incident_id, by=principal.name, source="http", reason=request.reason)
        await self._svc.publish(ack)
        await self._svc.audit(
            "ack", "acknowledged", incident_id=incident_id, reason=request.reason or "", by=principal.name
        )
        return Accepted(accepted="ack", id=incident_id, subject=self._svc.space.acks(incident_id))

    async def silence(self, request: SilenceRequest, principal: Principal) -> Silence:
        now = self._svc.clock.now()
        silence = Silence(
            silence_id=uuid.uuid4().hex[:12],
            matchers=request.matchers,
            starts_at=now,
            ends_at=now + dt.timedelta(seconds=request.duration_s),
            reason=request.reason,
            author=principal.name,
            created_at=now,
            hold_remediation=request.hold_remediation,
        )
        await self._silences.put(silence)
        await self._audit_silence(silence, "created", principal.name)
        return silence

    async def expire(self, silence_id: str, by: str) -> Silence:
        ended = await self._silences.expire(silence_id, by, self._svc.clock.now())
        if ended is None:
            raise Refused(f"no silence {silence_id} (GET /api/v1/silences lists them)", 404)
        if ended.expired_by == by:
            await self._audit_silence(ended, "expired", by)
        return ended

    async def _audit_silence(self, silence: Silence, decision: str, by: str) -> None:
        await self._svc.audit(
            "silence",
            decision,
            target=silence.scope,
            reason=silence.reason,
            event_id=stable_id("silence", silence.silence_id, decision),
            by=by,
            silence_id=silence.silence_id,
            ends_at=silence.ends_at.isoformat(),
        )
