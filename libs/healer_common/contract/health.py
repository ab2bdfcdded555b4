"""Health on the bus and in Redis: how a service says it is alive, how the collector sees each cluster
(`Healthy`, `Degraded(reason)` or `Unreachable(since)`), and what a service could not use (dead letters).

Only the Kubernetes API decides Unreachable: without it the collector is blind to the cluster. Any other source
in trouble makes the cluster Degraded, with that source in the reason (services/collector/sight.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.contract.messages import Frozen, Message

ServiceState = Literal["starting", "running", "degraded", "stopping"]
ClusterState = Literal["Healthy", "Degraded", "Unreachable"]
SourceState = Literal["Healthy", "Degraded", "Unreachable", "Connecting"]


class Heartbeat(Frozen):
    """Written to Redis every few seconds with a TTL; `healer status` reads them."""

    service: str
    instance: str
    state: ServiceState
    pid: int
    host: str
    version: str
    started_at: AwareDatetime
    time: AwareDatetime
    processed: int = 0
    failed: int = 0
    dead_lettered: int = 0
    consumer_lag: int | None = Field(default=None, description="messages not yet delivered or acked")
    detail: dict[str, str] = Field(default_factory=dict)


class DeadLetter(Message):
    """Input a service could not use, with the reason; published on `healer.dlq.<service>`.

    The copy is bounded so that it always fits on the bus: a body over `limits.dead_letter_excerpt_bytes` is
    kept as an excerpt (`truncated`), with its original `size`; `stream` and `stream_seq` say where the
    original still is (until its stream's retention ends), which is where `healer dlq replay` reads it from.
    """

    service: str
    subject: str
    reason: str
    error_type: str
    payload: str = Field(description="the original body (or its beginning), as UTF-8 text or base64")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    headers: dict[str, str] = Field(default_factory=dict)
    deliveries: int = 1
    size: int | None = Field(default=None, description="the original body's size in bytes")
    truncated: bool = Field(default=False, description="payload holds only the body's beginning")
    stream: str | None = Field(default=None, description="the stream holding the original, if it came from one")
    stream_seq: int | None = Field(default=None, description="its sequence in that stream")


class SourceHealth(Frozen):
    """One source of one cluster: can it read its system, since when, and what went wrong last."""

    source: str
    state: SourceState
    since: AwareDatetime
    error: str | None = Field(default=None, max_length=2_048)


class ClusterHealth(Frozen):
    cluster: str
    state: ClusterState
    reason: str | None = Field(default=None, description="why Degraded (or Unreachable)")
    since: AwareDatetime = Field(description="when the cluster entered this state")
    sources: list[SourceHealth] = Field(default_factory=list)
    time: AwareDatetime = Field(description="when the collector last evaluated it")

    def __str__(self) -> str:
        if self.state == "Unreachable":
            return f"Unreachable(since {self.since.isoformat(timespec='seconds')})"
        if self.state == "Degraded":
            return f"Degraded({self.reason})"
        return "Healthy"
