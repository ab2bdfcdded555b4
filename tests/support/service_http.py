"""Where a running service's HTTP endpoint is: read from its heartbeat, as `healer status` does."""

from __future__ import annotations

from healer_common.runtime.heartbeat import read_heartbeats
from healer_common.runtime.state import KeySpace, connect_redis
from healer_common.settings import Settings


async def service_url(settings: Settings, service: str) -> str:
    """The base URL of `service`'s HTTP endpoint (its newest heartbeat's)."""
    redis = connect_redis(settings)
    try:
        beats = await read_heartbeats(redis, KeySpace(settings.redis.key_prefix))
    finally:
        await redis.aclose()
    found = sorted((b for b in beats if b.service == service), key=lambda b: b.time)
    if not found:
        raise LookupError(f"no heartbeat of {service}: is it running?")
    return found[-1].detail["http"]
