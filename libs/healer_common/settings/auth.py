"""Who may make Healer act (`HEALER_AUTH__*`): where credentials come from, the roles they name, and the
replay window of signed requests. The model and the checks are in contract/auth.py; runtime/auth.py guards
each service's HTTP entry points with them.

With no credential configured every guarded endpoint refuses everything: credentials are required by
default. `healer up` writes `.healer/credentials.yaml` at first start, which is where services and the CLI
look unless told otherwise.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator

from healer_common.contract.auth import Credential, Scope
from healer_common.settings.section import Section

DEFAULT_ROLES: dict[str, list[str]] = {
    "oncall": ["approve:oncall", "ack"],
    "escalation": ["approve:escalation", "approve:oncall", "ack"],
    "product-owner": ["approve:product-owner"],
    "admin": ["admin"],
    "source": ["ingest"],
}


class AuthSettings(Section):
    credentials_file: Path | None = Field(
        Path(".healer/credentials.yaml"),
        description="YAML file of credentials (a mounted Secret in Kubernetes); re-read when it changes; "
        "`healer up` writes this one at first start",
    )
    credentials: list[Credential] = Field(
        default_factory=list, description="credentials given inline, in addition to those in credentials_file"
    )
    roles: dict[str, list[Scope]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_ROLES.items()},
        description="role name -> the scopes it grants (ingest, ack, admin, approve:<level>); credentials name roles",
    )
    token: SecretStr | None = Field(
        None, description="the bearer token this CLI presents; unset: the first fitting one in the credentials"
    )
    replay_window_s: float = Field(
        300.0,
        gt=0,
        le=3600,
        description="a signed request older or newer than this is refused, and one seen "
        "within it is refused as a replay",
    )
    audit_refusals_per_minute: int = Field(
        60,
        ge=1,
        description="refused requests audited per service and minute; the rest are counted in the next "
        "audit record and always in healer_http_refused_total",
    )

    @field_validator("credentials")
    @classmethod
    def _unique(cls, value: list[Credential]) -> list[Credential]:
        names = [c.name for c in value]
        if twice := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"credential names must be unique; repeated: {', '.join(twice)}")
        return value
