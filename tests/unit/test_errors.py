"""Errors named by the decision they ask for, with messages that say where the problem is."""

from __future__ import annotations

import pytest

from healer_common.errors import ConfigError, HealerError, InvalidMessage, Permanent, RefusedByPolicy, Retryable


@pytest.mark.parametrize(
    ("field", "source", "message"),
    [
        ("nats.url", "/etc/healer.yaml", "bad url (in /etc/healer.yaml at nats.url)"),
        ("nats.url", None, "bad url (at nats.url)"),
        (None, "environment", "bad url (in environment)"),
        (None, None, "bad url"),
    ],
)
def test_a_config_error_says_where_the_bad_setting_came_from(
    field: str | None, source: str | None, message: str
) -> None:
    error = ConfigError("bad url", field=field, source=source)

    assert str(error) == message
    assert (error.field, error.source) == (field, source)


def test_a_retryable_error_carries_its_delay() -> None:
    assert Retryable("peer down").delay == 1.0
    assert Retryable("rate limited", delay=30.0).delay == 30.0


def test_a_refusal_names_the_policy_that_refused() -> None:
    assert RefusedByPolicy("protected", policy="protected_prefix").policy == "protected_prefix"


@pytest.mark.parametrize(
    "error", [Retryable("x"), InvalidMessage("x"), RefusedByPolicy("x", policy="p"), ConfigError("x")]
)
def test_every_deliberate_error_is_a_healer_error(error: Exception) -> None:
    assert isinstance(error, HealerError)


def test_invalid_input_is_permanent_not_retryable() -> None:
    assert issubclass(InvalidMessage, Permanent)
    assert not issubclass(InvalidMessage, Retryable)
