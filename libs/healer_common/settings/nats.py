"""How every process reaches NATS (`HEALER_NATS__*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from healer_common.settings.section import Section


class NatsSettings(Section):
    url: str = Field("nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to wait for a connection before retrying")
    stream_replicas: int = Field(1, ge=1, le=5, description="JetStream replicas per stream (3 in production)")
    token: SecretStr | None = Field(None, description="NATS auth token, if the server wants one")
    creds_file: Path | None = Field(None, description="NATS credentials file (JWT + nkey), if the server wants one")
