"""Tracing (`HEALER_TELEMETRY__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer_common.settings.section import Section


class TelemetrySettings(Section):
    traces: Literal["auto", "none", "console", "otlp"] = Field(
        "auto",
        description="where spans go (context propagates either way): auto is otlp when OTEL_EXPORTER_OTLP_ENDPOINT "
        "(or _TRACES_ENDPOINT) is set, else none; otlp reads the standard OTEL_EXPORTER_OTLP_* variables",
    )
