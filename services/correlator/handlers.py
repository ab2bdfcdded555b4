"""The correlator's subscribers: alerts (in batches) and changes in, incident revisions out, and a timer for
what is due.

Alerts are taken as they arrived, up to `correlator.batch_max` at a time (runtime/batches.py): one cluster's
alerts are folded in their order under its lease, because grouping across topology needs to see every
earlier alert of the cluster; clusters of one batch run side by side.
"""

from __future__ import annotations

from healer_common.contract.alerts import Alert
from healer_common.contract.events import ChangeEvent
from healer_common.contract.streams import CORRELATOR_ALERTS, CORRELATOR_CHANGES
from healer_common.runtime.bus import Service
from services.correlator.adapters.correlation import Correlator
from services.correlator.adapters.open_counts import OpenCounts


def register(svc: Service, correlator: Correlator) -> None:
    @svc.consume_batch(CORRELATOR_ALERTS, max_batch=svc.settings.correlator.batch_max, backlog=correlator.alert_backlog)
    async def on_alerts(alerts: list[Alert]) -> None:
        await correlator.on_alerts(alerts)

    @svc.consume(CORRELATOR_CHANGES)
    async def on_change(change: ChangeEvent) -> None:
        await correlator.on_change(change)

    @svc.every(svc.settings.correlator.tick_s)
    async def tick() -> None:
        await correlator.tick()

    counts = OpenCounts(svc.redis, svc.keys)

    @svc.every(svc.settings.bus.heartbeat_interval_s)
    async def gauges() -> None:
        if not correlator.alert_backlog.waiting:  # behind in a storm, the alerts come first
            await counts.refresh()
