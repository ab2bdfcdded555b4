"""The read API and the web dashboard (`HEALER_API__*`): what they read back from JetStream, how often the
dashboard refreshes, and who may act through them (approve, deny, acknowledge, silence).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from healer_common.settings.section import Section


class ApiSettings(Section):
    token: SecretStr | None = Field(
        None,
        description="bearer token the API's write routes (approve, deny, ack, silence) require; none: open, "
        "as in the embedded run (read routes stay open either way)",
    )
    recent_alerts: int = Field(50, ge=1, le=1_000, description="alert publications the dashboard lists, newest first")
    lookback_h: float = Field(
        24.0, gt=0, description="how far back the dashboard looks for incidents, remediations and CodeRun phases"
    )
    scan_limit: int = Field(
        2_000,
        ge=100,
        le=100_000,
        description="most messages one dashboard read takes from a stream (keeps a busy day's snapshot fast)",
    )
    refresh_s: float = Field(
        5.0, gt=0, description="the dashboard is recomputed on every bus event and at least this often"
    )
    max_page: int = Field(1_000, ge=10, le=10_000, description="largest `limit` a list route accepts")
