"""The message base: deterministic ids for at-least-once delivery, validated copies, UTC everywhere."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from healer_common.contract.alerts import Alert
from healer_common.contract.messages import as_utc, new_id, stable_id
from tests.support.samples import T0, alert


@given(st.lists(st.text() | st.integers(), max_size=4))
def test_stable_id_is_the_same_for_the_same_parts(parts: list[str | int]) -> None:
    assert stable_id(*parts) == stable_id(*parts)


def test_stable_id_is_a_32_character_hex_digest() -> None:
    value = stable_id("incident", "inc-1", 3)

    assert len(value) == 32
    assert int(value, 16) >= 0


def test_stable_id_differs_when_any_part_or_the_order_differs() -> None:
    ids = {stable_id("a", "b"), stable_id("b", "a"), stable_id("a", "c"), stable_id("a", "b", "")}

    assert len(ids) == 4


def test_stable_id_does_not_confuse_parts_that_concatenate_alike() -> None:
    assert stable_id("ab", "c") != stable_id("a", "bc")


def test_fresh_ids_are_unique() -> None:
    assert len({new_id() for _ in range(100)}) == 100


def test_evolve_returns_a_validated_copy_and_leaves_the_original() -> None:
    firing = alert()

    resolved = firing.evolve(status="resolved", ends_at=T0 + dt.timedelta(minutes=3))

    assert isinstance(resolved, Alert)
    assert (resolved.status, resolved.ends_at) == ("resolved", T0 + dt.timedelta(minutes=3))
    assert (firing.status, firing.ends_at) == ("firing", None)
    assert resolved.fingerprint == firing.fingerprint


def test_evolve_refuses_a_change_the_model_would_refuse() -> None:
    with pytest.raises(ValidationError, match="status"):
        alert().evolve(status="pending")


def test_evolve_refuses_a_naive_time() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        alert().evolve(time=dt.datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001 - the naive time is the point


def test_evolve_refuses_a_field_the_model_does_not_have() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        alert().evolve(colour="red")


def test_messages_are_frozen() -> None:
    firing = alert()

    with pytest.raises(ValidationError, match="frozen"):
        firing.status = "resolved"  # type: ignore[misc]


def test_as_utc_converts_an_aware_time_to_utc_keeping_the_instant() -> None:
    paris = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))

    converted = as_utc(paris)

    assert converted == T0
    assert converted.utcoffset() == dt.timedelta(0)


def test_as_utc_rejects_a_naive_time_saying_so() -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-01-05T09:00:00 where a tz-aware one is required"):
        as_utc(dt.datetime(2026, 1, 5, 9, 0))  # noqa: DTZ001 - the naive time is the point
