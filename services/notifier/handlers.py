"""The notifier's subscribers and endpoint: incidents, remediation runs and acknowledgements in, notifications
out (flow.py says what each one means); PagerDuty's acknowledgement webhook in, an IncidentAck out; and, when
an Alertmanager is configured, every alert in and on to it (adapters/alertmanager.py).
"""

from __future__ import annotations

from aiohttp import web
from pydantic import SecretStr

from healer_common.contract.alerts import Alert
from healer_common.contract.incidents import Incident, IncidentAck
from healer_common.contract.remediations import Remediation
from healer_common.contract.streams import NOTIFIER_ACKS, NOTIFIER_ALERTS, NOTIFIER_INCIDENTS, NOTIFIER_REMEDIATIONS
from healer_common.runtime.bus import Service
from healer_common.runtime.httpserver import RouteHandler
from healer_common.runtime.leadership import Leadership
from services.notifier.adapters.alertmanager import AlertmanagerPush
from services.notifier.adapters.flow import NotifierFlow
from services.notifier.channels import pagerduty_webhook

PAGERDUTY_WEBHOOK_PATH = "/pagerduty/webhook"


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

    svc.route("POST", PAGERDUTY_WEBHOOK_PATH, pagerduty_acks(svc, pagerduty_secret))


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
        body = await request.read()
        if secret is None:
            return web.json_response(
                {"error": "set HEALER_NOTIFIER__CHANNELS__PAGERDUTY__WEBHOOK_SECRET first"}, status=403
            )
        if not pagerduty_webhook.signed(secret.get_secret_value(), body, request.headers.get("X-PagerDuty-Signature")):
            return web.json_response({"error": "bad or missing X-PagerDuty-Signature"}, status=401)
        try:
            ack = pagerduty_webhook.ack_from(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if ack is not None:
            await svc.publish(ack)
        return web.json_response({"accepted": ack is not None}, status=202)

    return receive
