"""JetStream streams and durable consumers, declared once and created idempotently at start-up.

Retention is by age and size (limits policy): the streams are also Healer's history (`healer history` reads
them back by time), so consumers never delete what they read. Each stream also has a size limit, so a flood
cannot fill the disk: past it, the oldest messages are dropped to make room (discard old), history gets
shorter, and a consumer that had not read them yet goes on from the oldest message still there. Publishing
never blocks on a full stream. Every publish carries `Nats-Msg-Id`, and the duplicate window drops a
republished copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from healer_common.contract.subjects import SubjectSpace

DAY = 86_400.0
MIB = 1024 * 1024


@dataclass(frozen=True)
class StreamSpec:
    key: str
    subjects: Callable[[SubjectSpace], list[str]]
    max_age_s: float
    description: str
    duplicate_window_s: float = 120.0
    max_bytes: int = 256 * MIB

    def name(self, space: SubjectSpace) -> str:
        return f"{space.stream_prefix()}_{self.key}"


EVENTS = StreamSpec(
    "EVENTS",
    lambda s: [s.all_events, f"{s.root}.changes.>"],
    1 * DAY,
    "observations from collectors and users, and the validated changes among them",
    max_bytes=2048 * MIB,
)
ALERTS = StreamSpec(
    "ALERTS", lambda s: [f"{s.root}.alerts.>"], 30 * DAY, "alerts as they fire and resolve", max_bytes=1024 * MIB
)
INCIDENTS = StreamSpec(
    "INCIDENTS",
    lambda s: [f"{s.root}.incidents.>", f"{s.root}.acks.>"],
    90 * DAY,
    "incidents, their updates and acknowledgements",
)
REMEDIATIONS = StreamSpec(
    "REMEDIATIONS",
    lambda s: [f"{s.root}.remediations.>", f"{s.root}.approvals.>", f"{s.root}.playbook_runs.>"],
    90 * DAY,
    "remediation runs, approval answers and requests to run a playbook by hand",
)
AUDIT = StreamSpec(
    "AUDIT", lambda s: [f"{s.root}.audit.>"], 365 * DAY, "every decision that acts on the world", max_bytes=1024 * MIB
)
DLQ = StreamSpec("DLQ", lambda s: [s.all_dlq], 14 * DAY, "input a service could not use, with the reason")
ROLLUPS = StreamSpec(
    "ROLLUPS", lambda s: [s.all_rollups], 56 * DAY, "5-minute summaries of every metric series (sleep-time analysis)"
)

STREAMS: tuple[StreamSpec, ...] = (EVENTS, ALERTS, INCIDENTS, REMEDIATIONS, AUDIT, DLQ, ROLLUPS)


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer: replicas of a service share it, so each message goes to one of them."""

    durable: str
    stream: StreamSpec
    filter_subject: Callable[[SubjectSpace], str]
    max_deliver: int = 5
    ack_wait_s: float = 30.0
    batch_size: int = 64

    def subject(self, space: SubjectSpace) -> str:
        return self.filter_subject(space)


CORRELATOR_ALERTS = ConsumerSpec("correlator-alerts", ALERTS, lambda s: s.all_alerts)
CORRELATOR_CHANGES = ConsumerSpec("correlator-changes", EVENTS, lambda s: s.all_changes)
REMEDIATOR_INCIDENTS = ConsumerSpec("remediator-incidents", INCIDENTS, lambda s: s.all_incidents, ack_wait_s=120.0)
REMEDIATOR_APPROVALS = ConsumerSpec("remediator-approvals", REMEDIATIONS, lambda s: s.all_approvals)
REMEDIATOR_RUN_REQUESTS = ConsumerSpec("remediator-run-requests", REMEDIATIONS, lambda s: s.all_playbook_runs)
NOTIFIER_INCIDENTS = ConsumerSpec("notifier-incidents", INCIDENTS, lambda s: s.all_incidents, ack_wait_s=60.0)
NOTIFIER_REMEDIATIONS = ConsumerSpec(
    "notifier-remediations", REMEDIATIONS, lambda s: s.all_remediations, ack_wait_s=60.0
)
NOTIFIER_ACKS = ConsumerSpec("notifier-acks", INCIDENTS, lambda s: s.all_acks)
NOTIFIER_ALERTS = ConsumerSpec("notifier-alerts", ALERTS, lambda s: s.all_alerts)  # only with alertmanager_url
MEMORY_ALERTS = ConsumerSpec("memory-alerts", ALERTS, lambda s: s.all_alerts)
MEMORY_CHANGES = ConsumerSpec("memory-changes", EVENTS, lambda s: s.all_changes)
MEMORY_INCIDENTS = ConsumerSpec("memory-incidents", INCIDENTS, lambda s: s.all_incidents)
MEMORY_REMEDIATIONS = ConsumerSpec("memory-remediations", REMEDIATIONS, lambda s: s.all_remediations)
MEMORY_METRICS = ConsumerSpec("memory-metrics", EVENTS, lambda s: s.metric_events, batch_size=32)
