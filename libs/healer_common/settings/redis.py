"""How every process reaches Redis (`HEALER_REDIS__*`): the URL (`rediss://` for TLS, with a private CA and a
client certificate if needed), and the key prefix that lets installations share one Redis."""

from __future__ import annotations

from typing import Self

from pydantic import Field, FilePath, model_validator

from healer_common.settings.section import Section


class RedisSettings(Section):
    url: str = Field(
        "redis://127.0.0.1:6379/0",
        description="Redis for shared working state; `rediss://` for TLS (a password in it is never shown)",
    )
    key_prefix: str = Field(
        "healer",
        pattern=r"^[A-Za-z0-9:_-]+$",
        description="prefix of every Redis key, so installations can share a Redis",
    )
    tls_ca_file: FilePath | None = Field(
        None, description="CA certificate(s) (PEM) that signed the Redis server's certificate (with a rediss:// URL)"
    )
    tls_cert_file: FilePath | None = Field(
        None, description="client certificate (PEM) for a Redis that verifies its clients (with a rediss:// URL)"
    )
    tls_key_file: FilePath | None = Field(None, description="the private key (PEM) of tls_cert_file")

    @model_validator(mode="after")
    def _tls_needs_rediss(self) -> Self:
        if (self.tls_ca_file or self.tls_cert_file or self.tls_key_file) and not self.url.startswith("rediss://"):
            raise ValueError("the tls_* files are used over TLS only: write the URL as rediss://host:port/db")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both (mutual TLS) or neither")
        return self
