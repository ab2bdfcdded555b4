"""Replicas (`HEALER_SCALE__*`): how the detector's input is partitioned, and the leases that decide which
replica does what must be done once (runtime/leadership.py)."""

from __future__ import annotations

from pydantic import Field

from healer_common.settings.section import Section


class ScaleSettings(Section):
    partitions: int = Field(
        12,
        ge=1,
        le=1_000,
        description="partitions of the detector's input (events are routed by object); fixed for an installation: "
        "collectors and detectors must agree, and changing it starts the detector's learned state afresh",
    )
    lease_ttl_s: float = Field(
        10.0,
        ge=1.0,
        description="leases (a partition, a cluster's watches, the notifier's timers ...) lapse this long after "
        "their holder stops renewing them: a stalled or dead replica's work is taken over after about this long",
    )
    checkpoint_s: float = Field(
        30.0,
        gt=0,
        description="how often a detector replica saves each partition's state and stream position to Redis; a "
        "replica taking a partition over resumes there and replays the events since",
    )
