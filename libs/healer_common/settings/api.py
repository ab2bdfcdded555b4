"""The read API and the web dashboard (`HEALER_API__*`): what they read back from JetStream, how often the
dashboard refreshes. Who may act through them (approve, deny, acknowledge, silence) is a credential's scope
(`auth`, runtime/auth.py); the read routes are open.
"""

from __future__ import annotations

from pydantic import Field

from healer_common.settings.section import Section


class ApiSettings(Section):
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
    alert_view_max: int = Field(
        100_000,
        ge=0,
        le=1_000_000,
        description="newest alerts the API keeps in memory to list them fast (about 0.9 KB each: body and filters); "
        "older pages are read off the stream; 0: read every page off the stream",
    )
