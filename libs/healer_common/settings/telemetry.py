"""Tracing (`HEALER_TELEMETRY__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer_common.settings.section import Section


class TelemetrySettings(Section):
    traces: Literal["none", "console"] = Field("none", description="where spans go; context propagates either way")
