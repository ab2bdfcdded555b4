"""The correlator's subscriber: alerts in, incidents out."""

from __future__ import annotations

from healer_common.alerts import Alert
from healer_common.bus import Service
from healer_common.messages import stable_id
from healer_common.streams import CORRELATOR_ALERTS
from services.correlator.grouping import GroupingPolicy, apply_alert, group_of
from services.correlator.incident_store import IncidentStore


def register(svc: Service, policy: GroupingPolicy, store: IncidentStore) -> None:
    @svc.consume(CORRELATOR_ALERTS, order_by=lambda alert: group_of(alert, policy)[0])
    async def on_alert(alert: Alert) -> None:
        group_key, group_labels = group_of(alert, policy)
        async with store.locked(group_key):
            incident = apply_alert(await store.get(group_key), alert, group_key, group_labels, svc.clock.now())
            if incident is not None:
                await svc.publish(incident)
                await store.save(incident)
                await svc.audit(
                    "incident",
                    incident.state,
                    target=incident.title,
                    reason=f"{alert.alert_id} {alert.status} ({len(incident.alerts)} alert(s) in the group)",
                    incident_id=incident.incident_id,
                    event_id=stable_id(incident.event_id, "audit"),
                    revision=incident.revision,
                )
