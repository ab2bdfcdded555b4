"""An oversized incident cannot freeze its cluster (issue 18): 160 alerts with 8 KB labels each grew one
revision past NATS's 1 MiB, its publish was retried as if NATS were down, the cluster's lock ran out under it,
and no new incident opened in that cluster for minutes. Now labels are cut, a revision carries what fits its
budget and counts the rest, and the next incident of the cluster opens when its group_wait is over.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from healer_common.contract.events import ResourceRef
from healer_common.contract.streams import CORRELATOR_ALERTS
from healer_common.runtime.busclient import BusClient
from healer_common.testing import ServiceRunner, recording
from tests.support.correlator_bus import drained, incident_where
from tests.support.correlator_samples import make_alert, pod_alert

pytestmark = pytest.mark.integration
GROUP_WAIT_S = 2.0
BIG = 8 * 1024


async def test_a_hundred_and_sixty_alerts_with_8_kb_labels_do_not_stop_the_next_incident_from_opening(
    services: ServiceRunner, bus: BusClient
) -> None:
    services.configure("correlator", group_wait_s=GROUP_WAIT_S, topology=[], tick_s=0.2)
    services.start("correlator")
    await services.wait_running()
    cfg = services.settings.correlator
    now = dt.datetime.now(dt.UTC)
    async with recording(bus, bus.space.all_incidents) as seen:
        for i in range(160):
            where = ResourceRef(kind="Pod", namespace="shop", name=f"batch-worker-{i}")
            labels = {"blob": "x" * BIG, "job": f"nightly-{i}"}
            await bus.publish(make_alert("A7", where, reason="Failed", labels=labels, starts_at=now))
        await drained(bus, CORRELATOR_ALERTS)
        big = await seen.wait_for(incident_where(lambda i: i["alert_count"] == 160), timeout=60, what="the big one")

        sent = time.monotonic()
        await bus.publish(pod_alert("api-1", namespace="checkout", starts_at=dt.datetime.now(dt.UTC)))
        opened = await seen.wait_for(
            incident_where(lambda i: i["alerts"][0]["resource"]["name"] == "api-1"), timeout=60, what="the next one"
        )
        took = time.monotonic() - sent

    assert took < GROUP_WAIT_S + 5.0, f"the next incident opened {took:.1f}s after its alert"
    assert len(big.data) <= cfg.revision_max_bytes, "the revision kept to its budget"
    body = json.loads(big.data)
    assert (body["alert_count"], body["changed_count"]) == (160, 160), "every alert counted"
    assert len(body["alerts"]) < 160, "not every alert carried in full"
    assert all(len(a["labels"]["blob"]) == cfg.label_value_max for a in body["alerts"]), "label values cut"
    assert json.loads(opened.data)["state"] == "opened"
