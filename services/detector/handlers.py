"""The detector's subscriber: one durable consumer over every event, typed in, alerts out; and the timer
that evaluates what holds without new events."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from healer_common.contract.alerts import Alert
from healer_common.contract.events import (
    AlertmanagerWebhook,
    ChangeEvent,
    ConditionEvent,
    Event,
    LogEvent,
    MetricBatchEvent,
    MetricEvent,
)
from healer_common.contract.limits import webhook_problems
from healer_common.contract.messages import stable_id
from healer_common.contract.streams import DETECTOR_EVENTS
from healer_common.errors import InvalidMessage
from healer_common.runtime.bus import Service
from services.detector.adapters.evaluation import Evaluation
from services.detector.alertmanager import alerts_from_webhook
from services.detector.held_conditions import object_key


def ordering_key(event: Event | AlertmanagerWebhook) -> str:
    """Events about one object are handled in the order they arrived (a recovery after its failure)."""
    if isinstance(event, ConditionEvent):
        return object_key(event.cluster, event.data.resource)
    if isinstance(event, AlertmanagerWebhook):
        return f"alertmanager/{event.receiver}"
    return f"{event.cluster}/{event.source}"


def register(svc: Service, evaluation: Evaluation, tick_s: float) -> None:
    async def forward_change(event: ChangeEvent) -> list[Alert]:
        await svc.publish_event(svc.space.changes(event.cluster), event)
        return []

    async def webhook(event: AlertmanagerWebhook) -> list[Alert]:
        if problems := webhook_problems(event, svc.settings.limits):  # the collector refuses these with 413
            raise InvalidMessage("; ".join(problems))
        return alerts_from_webhook(event, svc.clock.now())

    async def condition(event: ConditionEvent) -> list[Alert]:
        return await evaluation.condition(event, svc.clock.now())

    async def metrics(event: MetricBatchEvent | MetricEvent) -> list[Alert]:
        return await evaluation.metrics(event, svc.clock.now())

    async def log_line(event: LogEvent) -> list[Alert]:
        return evaluation.log_line(event, svc.clock.now())

    route: dict[type, Callable[[Any], Awaitable[list[Alert]]]] = {
        AlertmanagerWebhook: webhook,
        ConditionEvent: condition,
        MetricBatchEvent: metrics,
        MetricEvent: metrics,
        LogEvent: log_line,
        ChangeEvent: forward_change,
    }

    @svc.consume(DETECTOR_EVENTS, order_by=ordering_key)
    async def on_event(event: Event | AlertmanagerWebhook) -> None:
        handle = route.get(type(event))
        if handle is not None:
            await raise_alerts(await handle(event))

    @svc.every(tick_s)
    async def evaluate_held() -> None:
        await raise_alerts(await evaluation.tick(svc.clock.now()))

    async def raise_alerts(alerts: list[Alert]) -> None:
        """Each alert and its audit record, published at once (an Alertmanager webhook carries hundreds),
        in order per fingerprint."""
        records = [
            svc.audit_record(
                f"alert_{alert.alert_id}",
                alert.status,
                target=alert.target,
                reason=alert.summary(),
                event_id=stable_id(alert.event_id, "audit"),
                fingerprint=alert.fingerprint,
            )
            for alert in alerts
        ]
        await svc.publish_many([*alerts, *records])
