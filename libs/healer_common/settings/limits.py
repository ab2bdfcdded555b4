"""Input limits (`HEALER_LIMITS__*`): how much one request or one message may carry, checked where input
enters Healer so that no single input can stall a service or be lost without a reason.

Over a limit, an HTTP sender gets a 4xx naming the limit and its setting; a message on the bus is
dead-lettered with the same reason (a bounded excerpt, the original size kept). The defaults suit the embedded
run and a normal cluster; raise them with care: NATS refuses messages over its `max_payload` (1 MiB by default)
whatever is configured here.
"""

from __future__ import annotations

from pydantic import Field

from healer_common.settings.section import Section

KIB = 1024
MIB = 1024 * KIB


class LimitsSettings(Section):
    subject_token_chars: int = Field(
        64,
        ge=1,
        le=256,
        description="longest name taken from input into a subject, e.g. the source of POST /events/<source> "
        "(letters, digits, _ and - only)",
    )
    body_bytes: int = Field(
        4 * MIB, ge=KIB, description="largest HTTP request body read by any endpoint, chunked bodies included"
    )
    body_timeout_s: float = Field(
        10.0, gt=0, description="time a client has to send its whole request body; a slower one gets 408"
    )
    event_bytes: int = Field(
        MIB,
        ge=KIB,
        description="largest single event accepted over HTTP (also capped below NATS' max_payload)",
    )
    batch_events: int = Field(1_000, ge=1, description="most events in one HTTP batch")
    message_bytes: int = Field(
        MIB, ge=KIB, description="largest bus message a service handles; a bigger one is dead-lettered"
    )
    alerts_per_webhook: int = Field(1_000, ge=1, description="most alerts in one Alertmanager webhook body")
    labels_per_alert: int = Field(64, ge=1, description="most labels on one Alertmanager alert")
    label_bytes: int = Field(4 * KIB, ge=64, description="longest label name or value on an Alertmanager alert")
    annotations_per_alert: int = Field(32, ge=1, description="most annotations on one Alertmanager alert")
    annotation_bytes: int = Field(16 * KIB, ge=64, description="longest annotation value on an Alertmanager alert")
    dead_letter_excerpt_bytes: int = Field(
        64 * KIB,
        ge=KIB,
        description="a dead letter carries the whole body up to this size, else an excerpt (replay then reads "
        "the original from its stream)",
    )
