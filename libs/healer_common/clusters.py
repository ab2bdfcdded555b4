"""Cluster health as the collector sees it: `Healthy`, `Degraded(reason)` or `Unreachable(since)`.

The collector computes it from its sources (services/collector/sight.py) and writes it to Redis next to its
heartbeat, with the same short TTL, so a collector that dies takes its clusters' health with it; `healer
status --all` reads it back. Only the Kubernetes API decides Unreachable: without it the collector is blind to
the cluster. Any other source in trouble makes the cluster Degraded, with that source in the reason.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field
from redis.asyncio import Redis

from healer_common.messages import Frozen
from healer_common.state import KeySpace

ClusterState = Literal["Healthy", "Degraded", "Unreachable"]
SourceState = Literal["Healthy", "Degraded", "Unreachable", "Connecting"]


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


def cluster_key(keys: KeySpace, cluster: str) -> str:
    return keys("collector", "cluster", cluster)


async def write_cluster_health(redis: Redis, keys: KeySpace, health: ClusterHealth, ttl_s: float) -> None:
    await redis.set(cluster_key(keys, health.cluster), health.model_dump_json(), px=int(ttl_s * 1000))


async def read_cluster_health(redis: Redis, keys: KeySpace) -> list[ClusterHealth]:
    found: list[ClusterHealth] = []
    async for key in redis.scan_iter(match=cluster_key(keys, "*"), count=200):
        raw = await redis.get(key)
        if raw:
            found.append(ClusterHealth.model_validate_json(raw))
    return sorted(found, key=lambda h: h.cluster)
