"""Durations typed on the command line (`healer silence --duration`, `healer history --since`, `healer analyze
--since`), read in the one grammar of `healer_common.durations` (`90s`, `30m`, `1h30m`, `7d`, `2w`)."""

from __future__ import annotations

import datetime as dt

import typer

from healer_common.durations import parse_duration as seconds_of


def parse_duration(text: str) -> dt.timedelta:
    """A positive span; ValueError saying how a duration is written when `text` is not one."""
    seconds = seconds_of(text)
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a positive duration: write e.g. 90s, 30m, 2h, 1h30m or 7d")
    return dt.timedelta(seconds=seconds)


def parse_since(text: str) -> dt.timedelta:
    """`--since 90m`, `24h`, `7d`, `2w`: a typer error naming the form when it is not a duration."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
