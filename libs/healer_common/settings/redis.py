"""How every process reaches Redis (`HEALER_REDIS__*`), and the key prefix that lets installations share one."""

from __future__ import annotations

from pydantic import Field

from healer_common.settings.section import Section


class RedisSettings(Section):
    url: str = Field("redis://127.0.0.1:6379/0", description="Redis for shared working state")
    key_prefix: str = Field(
        "healer",
        pattern=r"^[A-Za-z0-9:_-]+$",
        description="prefix of every Redis key, so installations can share a Redis",
    )
