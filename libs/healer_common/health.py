"""Heartbeats and dead letters: how a service says it is alive, and what it could not use."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from healer_common.messages import Frozen, Message

ServiceState = Literal["starting", "running", "degraded", "stopping"]


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
    """Input a service could not use, with the reason; published on `healer.dlq.<service>`."""

    service: str
    subject: str
    reason: str
    error_type: str
    payload: str = Field(description="the original body, as UTF-8 text or base64 (see payload_encoding)")
    payload_encoding: Literal["utf-8", "base64"] = "utf-8"
    headers: dict[str, str] = Field(default_factory=dict)
    deliveries: int = 1
