"""Approvals over HTTP, for web pages and chat bots that cannot speak NATS:

    GET  /approvals                      runs waiting for an answer (their Remediation, with `approval`)
    POST /approvals/{remediation_id}     {"decision": "approve" | "deny", "by": "alice", "reason": "..."}

An answer is published as an ApprovalDecision on `healer.approvals.<id>`, the one path every answer takes
(the CLI and chat publish there too), so whichever replica holds the run applies it. With
`remediator.approval_token` set, both routes want `Authorization: Bearer <token>`. A body that is not a JSON
object (`application/json`, within limits.body_bytes) is refused with 4xx saying what to send.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from pydantic import ValidationError

from healer_common.contract.codec import describe
from healer_common.contract.messages import stable_id
from healer_common.contract.remediations import ApprovalDecision
from healer_common.runtime.bus import Service
from healer_common.runtime.httpserver import HttpRefusal, parse_object, read_body, require_media_type
from services.remediator.adapters.runs import RunStore

EXAMPLE = '{"decision": "approve", "by": "you"}'


class ApprovalEndpoint:
    def __init__(self, svc: Service, runs: RunStore) -> None:
        self._svc = svc
        self._runs = runs

    def install(self) -> None:
        self._svc.route("GET", "/approvals", self.waiting)
        self._svc.route("POST", "/approvals/{remediation_id}", self.answer)

    def _refused(self, request: web.Request) -> web.Response | None:
        token = self._svc.settings.remediator.approval_token
        if token is None:
            return None
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            return None
        return web.json_response({"error": "missing or wrong bearer token (remediator.approval_token)"}, status=401)

    async def _decision(self, request: web.Request, run_id: str) -> ApprovalDecision:
        """The answer in the body, or 4xx saying what to send (never a 500 for a body that is not an object)."""
        limits = self._svc.settings.limits
        require_media_type(request, ("application/json",))
        body = await read_body(
            request, limit=limits.body_bytes, timeout_s=limits.body_timeout_s, setting="limits.body_bytes"
        )
        fields = parse_object(body, EXAMPLE)
        try:
            return ApprovalDecision.model_validate({**fields, "remediation_id": run_id})
        except ValidationError as exc:
            raise HttpRefusal(400, describe(exc)) from None

    async def waiting(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        states = [await self._runs.get(run_id) for run_id in await self._runs.active()]
        runs = [s.run.model_dump(mode="json") for s in states if s is not None and s.phase == "awaiting_approval"]
        return web.json_response({"awaiting_approval": runs})

    async def answer(self, request: web.Request) -> web.Response:
        if refused := self._refused(request):
            return refused
        run_id = request.match_info["remediation_id"]
        decision = await self._decision(request, run_id)
        state = await self._runs.get(run_id)
        if state is None:
            return web.json_response({"error": f"no remediation {run_id}"}, status=404)
        if state.phase != "awaiting_approval":
            return web.json_response(
                {"error": f"remediation {run_id} is {state.run.state}, not awaiting approval"}, status=409
            )
        decision = decision.evolve(event_id=stable_id("http-approval", run_id, decision.event_id))
        await self._svc.publish(decision)
        return web.json_response({"accepted": decision.decision, "remediation_id": run_id}, status=202)
