"""The detector's subscriber: one durable consumer over every event, typed in, alerts out."""

from __future__ import annotations

from healer_common.bus import Service
from healer_common.events import AlertmanagerWebhook, ConditionEvent, Event
from healer_common.streams import DETECTOR_EVENTS
from services.detector.alert_state import ActiveAlerts
from services.detector.alertmanager import alerts_from_webhook
from services.detector.conditions import ConditionRules, evaluate_condition, object_key


def register(svc: Service, rules: ConditionRules, active: ActiveAlerts) -> None:
    @svc.consume(DETECTOR_EVENTS)
    async def on_event(event: Event | AlertmanagerWebhook) -> None:
        if isinstance(event, AlertmanagerWebhook):
            for alert in alerts_from_webhook(event, svc.clock.now()):
                await svc.publish(alert)
        elif isinstance(event, ConditionEvent):
            await on_condition(event)

    async def on_condition(event: ConditionEvent) -> None:
        key = object_key(event.cluster, event.data.resource)
        for alert in evaluate_condition(event, rules, await active.of_object(key), svc.clock.now()):
            await svc.publish(alert)
            await active.record(key, alert)
