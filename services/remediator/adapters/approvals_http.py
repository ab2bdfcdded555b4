"""Approvals over HTTP, for web pages and chat bots that cannot speak NATS:

    GET  /approvals                      runs waiting for an answer (their Remediation, with `approval`)
    POST /approvals/{remediation_id}     {"decision": "approve" | "deny", "reason": "..."}

Both want a bearer token with an approve scope (runtime/auth.py); answering also needs the request's level
(`approve:<level>`, or admin) to approve. The approver is the token's credential: a `by` in the body is
ignored. An accepted answer is published as an ApprovalDecision on `healer.approvals.<id>`, signed on the
approver's behalf (contract/auth.py), the one path every answer takes, so whichever replica holds the run
applies it and checks the signature again.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from healer_common.contract.auth import ANY_APPROVAL, attest_as
from healer_common.contract.codec import describe
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalDecision
from healer_common.runtime.auth import principal_of
from healer_common.runtime.bus import Service
from healer_common.runtime.httpserver import HttpRefusal, parse_object, request_body, require_media_type
from services.remediator.adapters.runs import RunStore

EXAMPLE = '{"decision": "approve", "reason": "..."}'


class ApprovalEndpoint:
    def __init__(self, svc: Service, runs: RunStore) -> None:
        self._svc = svc
        self._runs = runs

    def install(self) -> None:
        self._svc.route("GET", "/approvals", self.waiting, scope=ANY_APPROVAL)
        self._svc.route("POST", "/approvals/{remediation_id}", self.answer, scope=ANY_APPROVAL)

    async def waiting(self, _: web.Request) -> web.Response:
        states = [await self._runs.get(run_id) for run_id in await self._runs.active()]
        runs = [s.run.model_dump(mode="json") for s in states if s is not None and s.phase == "awaiting_approval"]
        return web.json_response({"awaiting_approval": runs})

    async def _decision(self, request: web.Request, run_id: str) -> ApprovalDecision:
        """The answer in the body, as the caller's credential (a `by` in the body is overwritten); a body that is
        not a JSON object (`application/json`, within limits.body_bytes) is refused with 4xx saying what to send."""
        require_media_type(request, ("application/json",))
        body = parse_object(await request_body(request), EXAMPLE)
        fields = {**body, "remediation_id": run_id, "by": principal_of(request).name, "attestation": None}
        try:
            return ApprovalDecision.model_validate(fields)
        except ValidationError as exc:
            raise HttpRefusal(400, describe(exc)) from None

    async def answer(self, request: web.Request) -> web.Response:
        run_id = request.match_info["remediation_id"]
        decision = await self._decision(request, run_id)
        state = await self._runs.get(run_id)
        if state is None:
            return web.json_response({"error": f"no remediation {run_id}"}, status=404)
        if state.phase != "awaiting_approval" or state.run.approval is None:
            waits = f"remediation {run_id} is {state.run.state}, not awaiting approval"
            return web.json_response({"error": waits}, status=409)
        signed = await self._signed(request, decision, state.run.approval.level)
        if isinstance(signed, web.Response):
            return signed
        await self._svc.publish(signed)
        return web.json_response({"accepted": signed.decision, "remediation_id": run_id}, status=202)

    async def _signed(
        self, request: web.Request, decision: ApprovalDecision, level: str
    ) -> ApprovalDecision | web.Response:
        """The decision signed on the caller's behalf, or a 403 when its credential may not give it."""
        principal = principal_of(request)
        needed = f"approve:{level}" if decision.decision == "approve" else ANY_APPROVAL
        attestation = attest_as(self._svc.gate.keyring(), principal, decision.statement(), self._svc.clock.now())
        if not principal.allows(needed) or attestation is None:
            why = f"it needs {needed}" if attestation is not None else "it signs requests but has no token"
            reason = f"credential {principal.name!r} may not {decision.decision} this: {why}"
            return await self._svc.gate.refuse(request, 403, "forbidden", reason, credential=principal.name)
        event_id = stable_id("http-approval", decision.remediation_id, decision.event_id)
        return decision.evolve(event_id=event_id, attestation=attestation)
