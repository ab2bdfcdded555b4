"""Each process's HTTP endpoint (`HEALER_HTTP__*`): /metrics, /healthz, /readyz and service routes."""

from __future__ import annotations

from typing import Self

from pydantic import Field, FilePath, model_validator

from healer_common.settings.section import Section

SERVICES = ("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge", "api")


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="bind address of /metrics, /healthz and service endpoints")
    base_port: int = Field(
        9470,
        ge=0,
        le=65_000,
        description="service i listens on base_port + i (collector first, api last: see SERVICES); 0 picks free ports",
    )
    port: int | None = Field(
        None, ge=0, le=65_535, description="exact port for this process (one service per container); wins over base"
    )
    tls_cert_file: FilePath | None = Field(
        None, description="certificate (PEM) to serve HTTPS with (ingest, approvals, acks, /metrics); unset: plain HTTP"
    )
    tls_key_file: FilePath | None = Field(None, description="the private key (PEM) of tls_cert_file")
    tls_client_ca_file: FilePath | None = Field(
        None, description="with HTTPS, also require client certificates signed by this CA (mutual TLS)"
    )

    @model_validator(mode="after")
    def _tls_pairs(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together: set both (HTTPS) or neither")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file needs HTTPS: set tls_cert_file and tls_key_file too")
        return self

    def port_of(self, service: str) -> int:
        if self.port is not None:
            return self.port
        if self.base_port == 0:
            return 0
        return self.base_port + (SERVICES.index(service) if service in SERVICES else len(SERVICES))
