"""Logging (`HEALER_LOG__*`): level and format."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from healer_common.settings.section import Section


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="least severe level logged")
    format: Literal["auto", "json", "console"] = Field("auto", description="auto: console on a terminal, else JSON")
