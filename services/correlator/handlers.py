"""The correlator's subscribers: alerts and changes in, incident revisions out, and a timer for what is due.

Alerts of one cluster are handled one at a time, in order (`order_by`), because grouping across topology
needs to see every earlier alert of the cluster; clusters run concurrently.
"""

from __future__ import annotations

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent
from healer_common.contract.streams import CORRELATOR_ALERTS, CORRELATOR_CHANGES
from healer_common.runtime import metrics
from healer_common.runtime.bus import Service
from healer_common.runtime.status import open_incidents
from services.correlator.adapters.correlation import Correlator


def by_cluster(alert: Alert) -> str:
    return alert.cluster


def register(svc: Service, correlator: Correlator) -> None:
    @svc.consume(CORRELATOR_ALERTS, order_by=by_cluster)
    async def on_alert(alert: Alert) -> None:
        await correlator.on_alert(alert)

    @svc.consume(CORRELATOR_CHANGES)
    async def on_change(change: ChangeEvent) -> None:
        await correlator.on_change(change)

    @svc.every(svc.settings.correlator.tick_s)
    async def tick() -> None:
        await correlator.tick()

    @svc.every(svc.settings.bus.heartbeat_interval_s)
    async def gauges() -> None:
        metrics.open_now(await open_incidents(svc.redis, svc.keys))
