"""The bus (`HEALER_BUS__*`): subject root, stream retention, heartbeat cadence, and how long a service waits
out an outage before it counts as stuck."""

from __future__ import annotations

from pydantic import Field, field_validator

from healer_common.contract.subjects import SubjectSpace
from healer_common.settings.section import Section

STREAM_KEYS = ("EVENTS", "ALERTS", "INCIDENTS", "REMEDIATIONS", "AUDIT", "DLQ", "ROLLUPS")  # streams.py names them


class BusSettings(Section):
    subject_root: str = Field("healer", description="first token(s) of every subject; streams are named after it")
    retention_days: dict[str, float] = Field(
        default_factory=dict, description="override a stream's max age, e.g. {EVENTS: 2, AUDIT: 730}"
    )
    max_mib: dict[str, float] = Field(
        default_factory=dict,
        description="override a stream's size limit in MiB (EVENTS 2048, ALERTS and AUDIT 1024, the others 256; "
        "per replica; 0 for none); past it the oldest messages make room, e.g. {EVENTS: 8192}. JetStream sets "
        "each limit aside on its disk when the stream is created",
    )
    heartbeat_interval_s: float = Field(
        5.0, gt=0, description="how often each service writes its heartbeat; 3 missed beats mean down"
    )
    outage_retry_max_s: float = Field(
        10.0,
        gt=0,
        description="longest wait between retries of a message that failed only because NATS, Redis or the "
        "Kubernetes API was down (it is retried until they are back, never dead-lettered for it)",
    )
    max_deliveries: int = Field(
        1_000,
        ge=10,
        description="deliveries of one message, outage retries included, after which it is dead-lettered "
        "whatever the cause (about 2.5 h of outage with the default backoff)",
    )
    stall_after_s: float = Field(
        300.0,
        gt=0,
        description="/healthz fails (so Kubernetes restarts the service) when a handler has run this long, or "
        "messages wait while none has been delivered for this long",
    )

    @field_validator("retention_days", "max_mib")
    @classmethod
    def _known_streams(cls, value: dict[str, float]) -> dict[str, float]:
        """Stream keys in upper case (environment variables arrive lower-cased), and only streams that exist."""
        upper = {key.upper(): days for key, days in value.items()}
        if unknown := sorted(set(upper) - set(STREAM_KEYS)):
            raise ValueError(f"no stream named {', '.join(unknown)}; streams are {', '.join(STREAM_KEYS)}")
        return upper

    @property
    def space(self) -> SubjectSpace:
        return SubjectSpace(self.subject_root)
