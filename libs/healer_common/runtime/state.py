"""Redis, Healer's fast shared working state: de-duplication windows, locks, cooldowns, heartbeats.

Keys are `<prefix>:<part>:<part>...`; the prefix is configurable so installations (and tests) sharing one
Redis never see each other's keys. Services use `connect_redis` (lazy, retrying); a command uses
`reachable_redis`, which tries once and ends with one `Unreachable` line when Redis does not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from healer_common.runtime.reach import Server, unreachable
from healer_common.settings import RedisSettings, Settings

COMMAND_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class KeySpace:
    prefix: str

    def __call__(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))


def _tls(cfg: RedisSettings) -> dict[str, Any]:
    """redis-py's TLS options for a rediss:// URL (the settings refuse TLS files with a plain redis:// one)."""
    if not cfg.url.startswith("rediss://"):
        return {}
    files = {"ssl_ca_certs": cfg.tls_ca_file, "ssl_certfile": cfg.tls_cert_file, "ssl_keyfile": cfg.tls_key_file}
    return {key: str(path) for key, path in files.items() if path is not None}


def redis_server(cfg: RedisSettings) -> Server:
    return Server(
        "Redis", cfg.url, "HEALER_REDIS__", "the password in HEALER_REDIS__URL", tls=cfg.url.startswith("rediss://")
    )


def connect_redis(settings: Settings, *, binary: bool = False) -> Redis:
    """A client that connects lazily and retries; callers decide what a Redis outage means for them. Answers
    are text, unless `binary` (for values that are bytes, such as the detector's checkpoints)."""
    return Redis.from_url(
        settings.redis.url,
        decode_responses=not binary,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=15,
        retry_on_timeout=True,
        **_tls(settings.redis),
    )


async def reachable_redis(settings: Settings) -> Redis:
    """A client for a command: connected now or never, with one attempt and a short timeout; `Unreachable`
    (one line naming Redis, its URL and why) when it does not answer."""
    redis = Redis.from_url(
        settings.redis.url,
        decode_responses=True,
        socket_connect_timeout=COMMAND_TIMEOUT_S,
        socket_timeout=COMMAND_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        **_tls(settings.redis),
    )
    try:
        await redis.ping()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise unreachable(redis_server(settings.redis), exc, timeout_s=COMMAND_TIMEOUT_S) from exc
    return redis


async def first_time(redis: Redis, key: str, ttl_s: float) -> bool:
    """True only for the first caller within the window: the idempotency guard of side-effecting handlers."""
    return bool(await redis.set(key, "1", nx=True, px=max(1, int(ttl_s * 1000))))
