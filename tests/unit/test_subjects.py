"""Subjects: every name on the bus is built from a message, stays one token where it must, and maps to a model."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from healer_common.contract.alerts import Alert
from healer_common.contract.audit import AuditRecord
from healer_common.contract.events import EVENT_ADAPTER, AlertmanagerWebhook
from healer_common.contract.health import DeadLetter
from healer_common.contract.incidents import Incident
from healer_common.contract.memory import (
    MemoryAdd,
    MemoryListRequest,
    MemoryQuery,
    MemoryStatsRequest,
    PredictionRequest,
)
from healer_common.contract.messages import Message
from healer_common.contract.remediations import ApprovalDecision, Remediation
from healer_common.contract.subjects import (
    MAX_TOKEN_CHARS,
    SUBJECTS,
    SubjectSpace,
    model_for,
    subject_for,
    subject_token,
)
from tests.support.samples import alert, incident, remediation

SAFE_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


@given(st.text())
def test_any_string_becomes_one_non_empty_subject_token(value: str) -> None:
    token = subject_token(value)

    assert SAFE_TOKEN.fullmatch(token)
    assert not {".", "*", ">"} & set(token)
    assert not any(ch.isspace() for ch in token)


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]*", fullmatch=True))
def test_a_token_that_is_already_safe_is_kept_as_it_is(value: str) -> None:
    assert subject_token(value) == value


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ("cto/rex-1", "cto_rex-1"),
        ("a.b.c", "a_b_c"),
        ("*", "_"),
        (">", "_"),
        ("", "_"),
        ("  spaced out ", "spaced_out"),
    ],
)
def test_unsafe_characters_become_underscores(value: str, token: str) -> None:
    assert subject_token(value) == token


@given(st.text())
def test_a_user_supplied_source_cannot_add_tokens_to_a_custom_event_subject(source: str) -> None:
    assert SUBJECTS.custom_events(source).count(".") == 3


def test_the_default_space_builds_the_documented_subjects() -> None:
    assert SUBJECTS.events("kubernetes", "condition") == "healer.events.kubernetes.condition"
    assert SUBJECTS.custom_events("ci") == "healer.events.custom.ci"
    assert SUBJECTS.alertmanager("team-a") == "healer.events.alertmanager.team-a"
    assert SUBJECTS.alertmanager("") == "healer.events.alertmanager.default"
    assert SUBJECTS.alerts("H8") == "healer.alerts.H8"
    assert SUBJECTS.incidents("opened") == "healer.incidents.opened"
    assert SUBJECTS.remediations("succeeded") == "healer.remediations.succeeded"
    assert SUBJECTS.approvals("rem-1") == "healer.approvals.rem-1"
    assert SUBJECTS.memory_query == "healer.memory.query"
    assert SUBJECTS.memory_add == "healer.memory.add"
    assert SUBJECTS.memory_list == "healer.memory.list"
    assert SUBJECTS.memory_stats == "healer.memory.stats"
    assert SUBJECTS.memory_predict == "healer.memory.predict"
    assert SUBJECTS.audit("memory-bridge") == "healer.audit.memory-bridge"
    assert SUBJECTS.dlq("detector") == "healer.dlq.detector"


def test_users_subscribe_to_alerts_with_one_wildcard_token() -> None:
    assert SUBJECTS.all_alerts == "healer.alerts.*"
    assert SUBJECTS.all_events == "healer.events.>"


def test_a_space_under_another_root_prefixes_every_subject_and_names_its_streams() -> None:
    space = SubjectSpace("test.run-42")

    assert space.alerts("H8") == "test.run-42.alerts.H8"
    assert space.all_dlq == "test.run-42.dlq.>"
    assert space.stream_prefix() == "TEST_RUN_42"


@pytest.mark.parametrize("root", ["", ".healer", "healer.", "a..b", "healer.*", "healer.>", "my healer", "héaler"])
def test_a_root_that_is_not_dot_separated_safe_tokens_is_rejected(root: str) -> None:
    with pytest.raises(ValueError, match="subject root"):
        SubjectSpace(root)


def test_tokens_are_read_back_after_the_root() -> None:
    space = SubjectSpace("t.x")

    assert space.tokens("t.x.alerts.H8") == ["alerts", "H8"]


def test_a_subject_outside_the_space_has_no_tokens() -> None:
    with pytest.raises(ValueError, match="not under root 'healer'"):
        SUBJECTS.tokens("other.alerts.H8")


def test_family_names_a_subject_without_its_ids() -> None:
    assert SUBJECTS.family("healer.alerts.H8") == "healer.alerts"
    assert SUBJECTS.family("healer.events.custom.ci") == "healer.events"
    assert SUBJECTS.family("elsewhere.alerts.H8") == "foreign"


@pytest.mark.parametrize(
    ("subject", "model"),
    [
        ("healer.alerts.H8", Alert),
        ("healer.incidents.opened", Incident),
        ("healer.remediations.acted", Remediation),
        ("healer.approvals.rem-1", ApprovalDecision),
        ("healer.audit.remediator", AuditRecord),
        ("healer.dlq.detector", DeadLetter),
        ("healer.memory.query", MemoryQuery),
        ("healer.memory.add", MemoryAdd),
        ("healer.memory.list", MemoryListRequest),
        ("healer.memory.stats", MemoryStatsRequest),
        ("healer.memory.predict", PredictionRequest),
        ("healer.events.alertmanager.team-a", AlertmanagerWebhook),
    ],
)
def test_each_subject_family_is_validated_by_its_model(subject: str, model: type[BaseModel]) -> None:
    assert model_for(SUBJECTS, subject) is model


@pytest.mark.parametrize("subject", ["healer.events.kubernetes.condition", "healer.events.custom.ci"])
def test_events_other_than_alertmanager_are_validated_as_cloudevents(subject: str) -> None:
    assert model_for(SUBJECTS, subject) is EVENT_ADAPTER


@pytest.mark.parametrize("subject", ["healer.memory.forget", "healer.unknown.x"])
def test_a_subject_with_no_model_is_refused(subject: str) -> None:
    with pytest.raises(ValueError, match="no model is defined"):
        model_for(SUBJECTS, subject)


def test_each_message_is_published_on_the_subject_derived_from_it() -> None:
    space = SubjectSpace("t")
    cases: list[tuple[Message, str]] = [
        (alert("H8"), "t.alerts.H8"),
        (incident(state="updated", revision=2), "t.incidents.updated"),
        (remediation("awaiting_approval"), "t.remediations.awaiting_approval"),
        (ApprovalDecision(remediation_id="rem-1", decision="approve", by="alice"), "t.approvals.rem-1"),
        (
            AuditRecord(service="remediator", actor="remediator-0", action="restart_pod", decision="acted"),
            "t.audit.remediator",
        ),
        (
            DeadLetter(
                service="detector", subject="t.events.x.y", reason="bad", error_type="InvalidMessage", payload=""
            ),
            "t.dlq.detector",
        ),
    ]

    assert [subject_for(space, message) for message, _ in cases] == [subject for _, subject in cases]


def test_a_request_without_a_subject_of_its_own_is_refused() -> None:
    with pytest.raises(TypeError, match="MemoryQuery has no subject of its own"):
        subject_for(SUBJECTS, MemoryQuery(text="oom"))


@given(st.text(min_size=1, max_size=6_000))
def test_no_token_built_from_input_is_longer_than_the_contract_allows(value: str) -> None:
    assert len(subject_token(value)) <= MAX_TOKEN_CHARS


def test_a_long_name_keeps_its_beginning_and_stays_distinct_and_stable() -> None:
    first, second = "ci-" + "a" * 5_000, "ci-" + "a" * 4_999 + "b"

    assert subject_token(first).startswith("ci-aaa")
    assert subject_token(first) == subject_token(first)
    assert subject_token(first) != subject_token(second)
    assert len(SUBJECTS.custom_events(first)) < 200
