"""Choosing dead letters to list or replay: NATS wildcards on the original subject, text in the reason, the
service; and the headers a replay carries (a new message id, or the stream's duplicate window drops it)."""

from __future__ import annotations

import pytest

from healer_cli.dlq import LetterFilter, replay_headers, stream_of, subject_matches
from healer_common.contract.health import DeadLetter
from healer_common.contract.subjects import SUBJECTS


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("healer.events.custom.ci", "healer.events.custom.ci", True),
        ("healer.events.custom.*", "healer.events.custom.ci", True),
        ("healer.events.*", "healer.events.custom.ci", False),
        ("healer.events.>", "healer.events.custom.ci", True),
        ("healer.events.>", "healer.events", False),
        ("healer.*.custom.ci", "healer.events.custom.ci", True),
        ("healer.events.custom.ci.x", "healer.events.custom.ci", False),
    ],
)
def test_subjects_match_as_nats_wildcards_do(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def letter(subject: str = "healer.events.custom.ci", reason: str = "body is not valid JSON") -> DeadLetter:
    return DeadLetter(
        service="detector",
        subject=subject,
        reason=reason,
        error_type="InvalidMessage",
        payload="{",
        headers={"Nats-Msg-Id": "original", "traceparent": "00-abc-def-01"},
    )


def test_a_filter_chooses_by_subject_reason_text_in_any_case_and_service() -> None:
    assert LetterFilter(subject="healer.events.>", reason="json").matches(letter())
    assert not LetterFilter(reason="limits").matches(letter())
    assert not LetterFilter(service="correlator").matches(letter())
    assert LetterFilter().matches(letter())


def test_only_subjects_a_stream_keeps_can_be_replayed() -> None:
    assert stream_of(SUBJECTS, "healer.events.custom.ci") == "HEALER_EVENTS"
    assert stream_of(SUBJECTS, "healer.alerts.H8") == "HEALER_ALERTS"
    assert stream_of(SUBJECTS, "healer.memory.query") is None


def test_a_replay_keeps_the_headers_but_not_the_message_id() -> None:
    original = letter()

    headers = replay_headers(original)

    assert headers["traceparent"] == "00-abc-def-01"
    assert headers["Nats-Msg-Id"] != "original"
    assert headers["Nats-Msg-Id"] == replay_headers(original)["Nats-Msg-Id"], "the same letter, the same id"
    assert headers["Healer-Replay-Of"] == original.event_id
