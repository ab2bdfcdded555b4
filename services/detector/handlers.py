"""The detector's subscriber: one durable consumer over every event, typed in, alerts out."""

from __future__ import annotations

from healer_common.alerts import Alert
from healer_common.bus import Service
from healer_common.codec import encode
from healer_common.events import AlertmanagerWebhook, ChangeEvent, ConditionEvent, Event
from healer_common.messages import stable_id
from healer_common.streams import DETECTOR_EVENTS
from services.detector.alert_state import ActiveAlerts
from services.detector.alertmanager import alerts_from_webhook
from services.detector.conditions import ConditionRules, evaluate_condition, object_key


def ordering_key(event: Event | AlertmanagerWebhook) -> str:
    """Events about one object are handled in the order they arrived (a recovery after its failure)."""
    if isinstance(event, ConditionEvent):
        return object_key(event.cluster, event.data.resource)
    if isinstance(event, AlertmanagerWebhook):
        return f"alertmanager/{event.receiver}"
    return f"{event.cluster}/{event.source}"


def register(svc: Service, rules: ConditionRules, active: ActiveAlerts) -> None:
    @svc.consume(DETECTOR_EVENTS, order_by=ordering_key)
    async def on_event(event: Event | AlertmanagerWebhook) -> None:
        if isinstance(event, AlertmanagerWebhook):
            for alert in alerts_from_webhook(event, svc.clock.now()):
                await raise_alert(alert)
        elif isinstance(event, ConditionEvent):
            await on_condition(event)
        elif isinstance(event, ChangeEvent):
            await svc.publish_raw(
                svc.space.changes(event.cluster), encode(event), {"Nats-Msg-Id": f"change-{event.id}"}
            )

    async def on_condition(event: ConditionEvent) -> None:
        key = object_key(event.cluster, event.data.resource)
        for alert in evaluate_condition(event, rules, await active.of_object(key), svc.clock.now()):
            await raise_alert(alert)
            await active.record(key, alert)

    async def raise_alert(alert: Alert) -> None:
        await svc.publish(alert)
        await svc.audit(
            f"alert_{alert.alert_id}",
            alert.status,
            target=alert.target,
            reason=alert.summary(),
            event_id=stable_id(alert.event_id, "audit"),
            fingerprint=alert.fingerprint,
        )
