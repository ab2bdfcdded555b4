"""Redis, Healer's fast shared working state: de-duplication windows, locks, cooldowns, heartbeats.

Keys are `<prefix>:<part>:<part>...`; the prefix is configurable so installations (and tests) sharing one
Redis never see each other's keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from healer_common.settings import Settings


@dataclass(frozen=True)
class KeySpace:
    prefix: str

    def __call__(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))


def connect_redis(settings: Settings) -> Redis:
    """A client that connects lazily and retries; callers decide what a Redis outage means for them."""
    return Redis.from_url(
        settings.redis.url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=15,
        retry_on_timeout=True,
    )


async def first_time(redis: Redis, key: str, ttl_s: float) -> bool:
    """True only for the first caller within the window: the idempotency guard of side-effecting handlers."""
    return bool(await redis.set(key, "1", nx=True, px=max(1, int(ttl_s * 1000))))
