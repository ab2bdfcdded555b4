"""The detector's input and output: every event, by partition (one replica serves each; runtime/partitioned.py
shares them out), typed in and handed to the partition's evaluation; alerts out, each with its audit record,
only while this replica still holds the partition (a replica that stalled and woke up publishes nothing).
"""

from __future__ import annotations

from healer_common.contract.alerts import Alert
from healer_common.contract.messages import stable_id
from healer_common.contract.streams import EVENTS
from healer_common.runtime.bus import Service
from healer_common.runtime.leadership import Term
from healer_common.runtime.partitioned import Partitioned
from services.detector.adapters.partition_work import INTAKE, DetectorParts
from services.detector.alertmanager import RELAYED


def parts_of(svc: Service) -> dict[str, str]:
    """Each partition's subjects, and the intake's (events published without a partition)."""
    space = svc.space
    numbered = {str(n): space.partition_events(n) for n in range(svc.settings.scale.partitions)}
    return {**numbered, INTAKE: space.unpartitioned_events}


async def raise_alerts(svc: Service, term: Term, alerts: list[Alert]) -> None:
    """Each alert and the audit record of the rule's decision, published at once (an Alertmanager webhook
    carries hundreds), in order per fingerprint, and only while this replica still holds the partition's term.
    An alert relayed from Alertmanager was decided there, not by a rule here: its record is the alert itself on
    `healer.alerts.*` (an audit record each doubled a storm's messages)."""
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
        if alert.generator != RELAYED
    ]
    term.check()
    await svc.publish_many([*alerts, *records])


def register(svc: Service) -> DetectorParts:
    async def raising(term: Term, alerts: list[Alert]) -> None:
        await raise_alerts(svc, term, alerts)

    parts = DetectorParts(svc, raising)
    tick_s = svc.settings.detector.tick_s
    Partitioned(svc, stream=EVENTS, parts=parts_of(svc), build=parts.build, tick_s=tick_s).install()
    return parts
