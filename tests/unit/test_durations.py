"""One duration grammar for the whole of Healer: what people write in settings, playbooks, escalation
policies, scenarios and on the command line reads the same everywhere, and what Healer prints reads back."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from healer_cli.durations import parse_duration as cli_duration
from healer_cli.durations import parse_since
from healer_common.durations import Duration, format_duration, parse_duration, spoken_duration
from healer_common.settings.notifier import EscalationLevel
from healer_sandbox.scenario import CertificateSpec

DURATION: TypeAdapter[float] = TypeAdapter(Duration)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        (90, 90),
        (1.5, 1.5),
        ("500ms", 0.5),
        ("30s", 30),
        ("15m", 900),
        ("1h", 3600),
        ("2d", 172_800),
        ("1w", 604_800),
        ("1h30m", 5400),
        ("1d2h", 93_600),
        ("1w3d", 864_000),
        ("2m30s500ms", 150.5),
        ("0.5h", 1800),
        (" 1h 30m ", 5400),
    ],
)
def test_the_durations_people_write_are_read_as_seconds(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "is not a duration; write seconds"),
        ("soon", "is not a duration; write seconds"),
        ("2x", "is not a duration; write seconds"),
        ("-1", "is not a duration; write seconds"),
        (-1, "must be finite and not negative"),
        (float("inf"), "must be finite and not negative"),
        ("inf", "is not a duration; write seconds"),
        ("1e3", "is not a duration; write seconds"),
        ("1H", "is not a duration; write seconds"),
        ("30m1h", "largest first"),
        ("1m1m", "each unit once"),
        (True, "is not a duration"),
    ],
)
def test_anything_else_is_refused_saying_how_to_write_one(text: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**13))
def test_what_healer_writes_reads_back_to_the_millisecond(milliseconds: int) -> None:
    seconds = milliseconds / 1000

    assert round(parse_duration(format_duration(seconds)) * 1000) == milliseconds


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=1, max_value=3))
def test_a_rounded_duration_keeps_its_largest_units_and_reads_back_within_half_the_smallest(
    milliseconds: int, parts: int
) -> None:
    seconds = milliseconds / 1000
    text = format_duration(seconds, parts=parts)
    units = re.findall(r"\d+(ms|s|m|h|d|w)", text)
    smallest = {"w": 604_800, "d": 86_400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}[units[-1]]

    assert len(units) <= parts
    assert abs(parse_duration(text) - seconds) <= smallest / 2 + 1e-9


@given(st.lists(st.sampled_from(["w", "d", "h", "m", "s", "ms"]), min_size=1, max_size=6, unique=True))
def test_any_compound_in_the_grammar_is_read_as_the_sum_of_its_parts(units: list[str]) -> None:
    order = ["w", "d", "h", "m", "s", "ms"]
    ordered = sorted(units, key=order.index)
    size = {"w": 604_800, "d": 86_400, "h": 3600, "m": 60, "s": 1, "ms": 0.001}

    assert parse_duration("".join(f"3{u}" for u in ordered)) == pytest.approx(sum(3 * size[u] for u in ordered))


@pytest.mark.parametrize(
    ("seconds", "parts", "written"),
    [
        (0, None, "0s"),
        (5400, None, "1h30m"),
        (5400, 1, "2h"),
        (3599.6, 1, "1h"),
        (312, 2, "5m12s"),
        (0.25, None, "250ms"),
    ],
)
def test_durations_are_written_largest_unit_first(seconds: float, parts: int | None, written: str) -> None:
    assert format_duration(seconds, parts=parts) == written


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (431_994, "5 days"),
        (1_209_600, "14 days"),
        (60, "1 minute"),
        (59.6, "1 minute"),
        (7200, "2 hours"),
        (0, "0 seconds"),
    ],
)
def test_summaries_say_durations_in_words(seconds: float, said: str) -> None:
    assert spoken_duration(seconds) == said


def test_two_parts_in_words() -> None:
    assert spoken_duration(5400, parts=2) == "1 hour 30 minutes"


def test_the_notifier_the_sandbox_and_the_cli_read_the_same_grammar() -> None:
    assert EscalationLevel(delay="1h30m", channels=["console"]).delay == 5400
    assert CertificateSpec(name="api", namespace="cto", dns_names=["api"], expires_in="1w2d").expires_in == 777_600
    assert cli_duration("1d2h") == dt.timedelta(hours=26)
    assert parse_since("2w") == dt.timedelta(weeks=2)
    assert DURATION.validate_python("90") == 90


def test_the_cli_refuses_a_span_of_nothing() -> None:
    with pytest.raises(ValueError, match="positive"):
        cli_duration("0s")
    with pytest.raises(typer.BadParameter, match="not a duration"):
        parse_since("yesterday")


def test_a_bad_duration_in_settings_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"delay\n.*'soon' is not a duration"):
        EscalationLevel(delay="soon", channels=["console"])
