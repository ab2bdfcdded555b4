"""How every process reaches NATS (`HEALER_NATS__*`): the servers, the credentials (a token, a credentials
file or an nkey seed: one of them) and TLS (a private CA, and a client certificate when the server asks for one)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import Field, FilePath, SecretStr, model_validator

from healer_common.settings.section import Section


class NatsSettings(Section):
    url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS server(s), comma-separated; `tls://` asks for TLS (a password in it is never shown)",
    )
    connect_timeout_s: float = Field(5.0, gt=0, description="seconds to wait for a connection before retrying")
    jetstream_timeout_s: float = Field(
        15.0,
        gt=0,
        description="seconds a JetStream API request (a stream or consumer created or looked up) may take; a "
        "three-node cluster under load was seen to take more than nats-py's 5 s, and a service then died at start",
    )
    stream_replicas: int = Field(1, ge=1, le=5, description="JetStream replicas per stream (3 in production)")
    token: SecretStr | None = Field(None, description="NATS auth token, if the server wants one")
    creds_file: FilePath | None = Field(None, description="NATS credentials file (JWT + nkey), if the server wants one")
    nkey_seed_file: FilePath | None = Field(
        None, description="this service's NATS nkey seed (`healer nats config` writes one per service identity)"
    )
    tls_ca_file: FilePath | None = Field(
        None, description="CA certificate(s) (PEM) that signed the NATS server's certificate; the system's CAs if unset"
    )
    tls_cert_file: FilePath | None = Field(
        None, description="client certificate (PEM) for a NATS server that verifies its clients (mutual TLS)"
    )
    tls_key_file: FilePath | None = Field(None, description="the private key (PEM) of tls_cert_file")

    @model_validator(mode="after")
    def _one_way_in(self) -> Self:
        ways = [name for name in ("token", "creds_file", "nkey_seed_file") if getattr(self, name) is not None]
        if len(ways) > 1:
            raise ValueError(f"set one of token, creds_file and nkey_seed_file, not {' and '.join(ways)}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both (mutual TLS) or neither")
        return self

    @property
    def tls_files(self) -> tuple[Path | None, Path | None, Path | None]:
        return self.tls_ca_file, self.tls_cert_file, self.tls_key_file

    @property
    def wants_tls(self) -> bool:
        return any(self.tls_files) or any(s.strip().startswith("tls://") for s in self.url.split(","))
