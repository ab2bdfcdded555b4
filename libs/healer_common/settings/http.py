"""Each process's HTTP endpoint (`HEALER_HTTP__*`): /metrics, /healthz, /readyz and service routes."""

from __future__ import annotations

from pydantic import Field

from healer_common.settings.section import Section

SERVICES = ("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge")


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="bind address of /metrics, /healthz and service endpoints")
    base_port: int = Field(
        9470,
        ge=0,
        le=65_000,
        description="service i listens on base_port + i (collector first, memory-bridge last); 0 picks free ports",
    )
    port: int | None = Field(
        None, ge=0, le=65_535, description="exact port for this process (one service per container); wins over base"
    )

    def port_of(self, service: str) -> int:
        if self.port is not None:
            return self.port
        if self.base_port == 0:
            return 0
        return self.base_port + (SERVICES.index(service) if service in SERVICES else len(SERVICES))
