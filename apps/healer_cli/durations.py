"""Durations as people type them on the command line: `90s`, `30m`, `2h`, `1h30m`, `7d` (defined in
healer_common.clock, which the read API's time filters share)."""

from __future__ import annotations

from healer_common.clock import parse_duration

__all__ = ["parse_duration"]
