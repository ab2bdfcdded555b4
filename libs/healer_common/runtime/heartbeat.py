"""Heartbeats and cluster health in Redis: each instance writes its state every few seconds with a TTL of three
intervals, so a dead instance disappears by itself; the collector writes each cluster's health next to its
heartbeat with the same short TTL, so a collector that dies takes its clusters' health with it. `healer status`
reads both back.
"""

from __future__ import annotations

from redis.asyncio import Redis

from healer_common.contract.health import ClusterHealth, Heartbeat
from healer_common.runtime.state import KeySpace


def heartbeat_key(keys: KeySpace, service: str, instance: str) -> str:
    return keys("heartbeat", service, instance)


async def write_heartbeat(redis: Redis, keys: KeySpace, beat: Heartbeat, ttl_s: float) -> None:
    await redis.set(heartbeat_key(keys, beat.service, beat.instance), beat.model_dump_json(), px=int(ttl_s * 1000))


async def read_heartbeats(redis: Redis, keys: KeySpace) -> list[Heartbeat]:
    found: list[Heartbeat] = []
    async for key in redis.scan_iter(match=keys("heartbeat", "*"), count=200):
        raw = await redis.get(key)
        if raw:
            found.append(Heartbeat.model_validate_json(raw))
    return sorted(found, key=lambda b: (b.service, b.instance))


async def clear_heartbeat(redis: Redis, keys: KeySpace, service: str, instance: str) -> None:
    await redis.delete(heartbeat_key(keys, service, instance))


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
