"""The notifier's subscribers and endpoint: incidents, remediation runs and acknowledgements in, notifications
out (flow.py says what each one means); PagerDuty's acknowledgement webhook and `POST /acks/{incident_id}`
(a credential with scope `ack`, which is who acknowledged) in, an IncidentAck out; and, when an Alertmanager is
configured, every alert in and on to it (adapters/alertmanager.py).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import SecretStr

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.remediations import Remediation
from healer_common.contract.streams import NOTIFIER_ACKS, NOTIFIER_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from healer_common.runtime.auth import principal_of
from healer_common.runtime.bus import Service
from healer_common.runtime.httpserver import RouteHandler, request_body
from healer_common.runtime.leadership import Leadership
from services.notifier.acks import ack_from_http
from services.notifier.adapters.alertmanager import AlertmanagerPush
from services.notifier.adapters.flow import NotifierFlow
from services.notifier.channels import pagerduty_webhook

PAGERDUTY_WEBHOOK_PATH = "/pagerduty/webhook"
ACKS_PATH = "/acks/{incident_id}"


def register(svc: Service, flow: NotifierFlow, pagerduty_secret: SecretStr | None, timers: Leadership) -> None:
    @svc.consume(NOTIFIER_INCIDENTS, order_by=lambda incident: incident.incident_id)
    async def on_incident(incident: Incident) -> None:
        await flow.incident(incident)

    @svc.consume(NOTIFIER_REMEDIATIONS, order_by=lambda run: run.incident_id)
    async def on_remediation(run: Remediation) -> None:
        await flow.remediation(run)

    @svc.consume(NOTIFIER_ACKS)
    async def on_ack(ack: IncidentAck) -> None:
        await flow.acknowledged(ack)

    @svc.every(svc.settings.notifier.escalation_tick_s)
    async def escalate() -> None:
        if timers.leading:  # one replica runs the timers (the others stand by)
            await flow.escalation_tick()

    # PagerDuty signs its webhook with its own scheme, checked in pagerduty_acks (refusals go through the gate).
    svc.route("POST", PAGERDUTY_WEBHOOK_PATH, pagerduty_acks(svc, pagerduty_secret), scope=None)
    svc.route("POST", ACKS_PATH, http_acks(svc), scope="ack")


def register_alertmanager(svc: Service, push: AlertmanagerPush, resend_s: float, timers: Leadership) -> None:
    @svc.consume(NOTIFIER_ALERTS)
    async def on_alert(alert: Alert) -> None:
        await push.take(alert)

    @svc.every(resend_s)
    async def resend_firing() -> None:
        if timers.leading:
            svc.detail["alertmanager firing"] = str(await push.resend())


def pagerduty_acks(svc: Service, secret: SecretStr | None) -> RouteHandler:
    """POST /pagerduty/webhook: a signed v3 webhook; an acknowledgement becomes an IncidentAck on the bus."""

    async def receive(request: web.Request) -> web.Response:
        body = await request_body(request)
        if secret is None:
            reason = (
                "set HEALER_NOTIFIER__CHANNELS__PAGERDUTY__WEBHOOK_SECRET first: unsigned acknowledgements are refused"
            )
            return await svc.gate.refuse(request, 403, "no_webhook_secret", reason)
        if not pagerduty_webhook.signed(secret.get_secret_value(), body, request.headers.get("X-PagerDuty-Signature")):
            return await svc.gate.refuse(request, 401, "bad_signature", "bad or missing X-PagerDuty-Signature")
        try:
            ack = pagerduty_webhook.ack_from(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if ack is not None:
            await svc.publish(ack)
        return web.json_response({"accepted": ack is not None}, status=202)

    return receive


def http_acks(svc: Service) -> RouteHandler:
    """POST /acks/{incident_id} {"reason": "..."}: acknowledge as the token's credential (chat bots, web)."""

    async def receive(request: web.Request) -> web.Response:
        body = await request_body(request)
        try:
            ack = ack_from_http(request.match_info["incident_id"], principal_of(request).name, body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        await svc.publish(ack)
        return web.json_response({"accepted": True, "incident_id": ack.incident_id}, status=202)

    return receive
