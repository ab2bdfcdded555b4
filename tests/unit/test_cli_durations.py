"""Durations typed on the command line (`healer silence --duration`, `healer history --since`)."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_cli.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("7d", 604800), ("1w", 604800), ("0.5h", 1800)],
)
def test_the_durations_people_type_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2", "2x", "h", "2h foo", "-1h", "0s"])
def test_anything_else_is_refused_saying_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
