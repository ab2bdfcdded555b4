"""The credential model as plain functions: what a credential grants, how bearer tokens, signatures and
attestations are checked, and who may answer an approval request."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from healer_common.contract.auth import (
    ANY_APPROVAL,
    Credential,
    Principal,
    attest,
    attest_as,
    build_keyring,
    check_signature,
    signed_headers,
    token_digest,
    verify_attestation,
)
from healer_common.contract.remediations import ApprovalRequest
from healer_common.settings.auth import DEFAULT_ROLES
from services.remediator.playbook_run import answer_refusal

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
KEYRING = build_keyring(
    [
        Credential.model_validate({"name": "alice", "token": "alice-token", "roles": ["oncall"]}),
        Credential.model_validate({"name": "root", "token_sha256": token_digest("root-token"), "roles": ["admin"]}),
        Credential.model_validate({"name": "ci", "signing_secret": "ci-secret", "scopes": ["ingest"]}),
    ],
    DEFAULT_ROLES,
)


def verdict(body: bytes, headers: dict[str, str], now: dt.datetime = NOW) -> str:
    found = check_signature(
        KEYRING,
        body,
        timestamp=headers.get("X-Healer-Timestamp"),
        signature=headers.get("X-Healer-Signature"),
        now=now,
        window_s=300,
    )
    return found.principal.name if found.principal else found.code


def test_a_role_grants_its_scopes_and_admin_grants_everything() -> None:
    alice, root = KEYRING.bearer("alice-token"), KEYRING.bearer("root-token")
    assert alice is not None
    assert root is not None
    assert alice.allows("approve:oncall")
    assert alice.allows("ack")
    assert alice.allows(ANY_APPROVAL)
    assert not alice.allows("approve:admin")
    assert not alice.allows("ingest")
    assert all(root.allows(s) for s in ("ingest", "ack", "approve:admin", "approve:product-owner", ANY_APPROVAL))
    assert KEYRING.bearer("alice-token ") is None
    assert KEYRING.bearer("guess") is None


def test_a_file_may_hold_only_the_tokens_digest() -> None:
    root = KEYRING.bearer("root-token")
    assert root is not None
    assert root.name == "root"


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"name": "x", "roles": ["oncall"]}, "has no token, token_sha256 or signing_secret"),
        ({"name": "x", "token": "t"}, "grants nothing"),
        ({"name": "x", "token": "t", "scopes": ["approve"]}, "is not a scope"),
        ({"name": "x", "token": "t", "token_sha256": "0" * 64, "scopes": ["ack"]}, "disagree"),
    ],
)
def test_a_credential_that_proves_or_grants_nothing_is_refused_with_the_reason(
    fields: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Credential.model_validate(fields)


def test_an_unknown_role_is_reported_and_grants_nothing() -> None:
    keyring = build_keyring(
        [Credential.model_validate({"name": "bob", "token": "b", "roles": ["oncal"], "scopes": ["ack"]})],
        DEFAULT_ROLES,
    )
    assert keyring.problems == ("credential 'bob' names role 'oncal', which auth.roles lacks",)
    bob = keyring.bearer("b")
    assert bob is not None
    assert bob.scopes == frozenset({"ack"})


def test_a_fresh_signature_names_its_signer_and_anything_else_says_why_not() -> None:
    body = b'{"id": "1"}'
    good = signed_headers("ci-secret", body, NOW)
    assert verdict(body, good) == "ci"
    assert verdict(body + b" ", good) == "bad_signature"
    assert verdict(body, signed_headers("other-secret", body, NOW)) == "bad_signature"
    assert verdict(body, signed_headers("ci-secret", body, NOW - dt.timedelta(seconds=301))) == "stale_signature"
    assert verdict(body, signed_headers("ci-secret", body, NOW + dt.timedelta(seconds=301))) == "stale_signature"
    assert verdict(body, {**good, "X-Healer-Timestamp": "yesterday"}) == "bad_timestamp"
    assert verdict(body, {"X-Healer-Signature": good["X-Healer-Signature"]}) == "bad_timestamp"


@given(st.binary(max_size=200), st.text(max_size=80))
def test_no_random_signature_passes(body: bytes, signature: str) -> None:
    assert verdict(body, {"X-Healer-Timestamp": str(int(NOW.timestamp())), "X-Healer-Signature": signature}) != "ci"


def test_an_attestation_proves_its_signer_and_breaks_when_anything_changes() -> None:
    attestation = attest("alice-token", "approval\nrun-1\napprove\n", NOW)
    signer = verify_attestation(KEYRING, attestation, "approval\nrun-1\napprove\n")
    assert isinstance(signer, Principal)
    assert signer.name == "alice"
    assert "does not match" in str(verify_attestation(KEYRING, attestation, "approval\nrun-2\napprove\n"))
    later = attestation.model_copy(update={"signed_at": NOW + dt.timedelta(seconds=1)})
    assert "does not match" in str(verify_attestation(KEYRING, later, "approval\nrun-1\napprove\n"))
    stranger = attest("stranger-token", "approval\nrun-1\napprove\n", NOW)
    assert "no credential of this service holds" in str(verify_attestation(KEYRING, stranger, "x"))
    assert "unsigned" in str(verify_attestation(KEYRING, None, "x"))


def test_a_service_signs_for_a_token_holder_it_checked_but_not_for_a_signer() -> None:
    root = KEYRING.bearer("root-token")
    assert root is not None
    on_behalf = attest_as(KEYRING, root, "statement", NOW)
    assert on_behalf is not None
    signer = verify_attestation(KEYRING, on_behalf, "statement")
    assert isinstance(signer, Principal)
    assert signer.name == "root"
    assert attest_as(KEYRING, Principal("ci", frozenset({"ingest"}), "signature"), "statement", NOW) is None


def request(level: str, asked_at: dt.datetime = NOW) -> ApprovalRequest:
    return ApprovalRequest(
        action="drain_node", level=level, asked_at=asked_at, summary="drain", expires_at=NOW, on_timeout="deny"
    )


def principal(*scopes: str) -> Principal:
    return Principal("p", frozenset(scopes), "attestation")


@pytest.mark.parametrize(
    ("level", "scopes", "approve", "allowed"),
    [
        ("admin", ["approve:oncall"], True, False),
        ("admin", ["approve:oncall"], False, True),
        ("admin", ["approve:admin"], True, True),
        ("admin", ["admin"], True, True),
        ("oncall", ["approve:oncall"], True, True),
        ("oncall", ["ack"], False, False),
        ("product-owner", ["approve:escalation"], True, False),
    ],
)
def test_approving_needs_the_requests_level_and_denying_any_approve_scope(
    level: str, scopes: list[str], approve: bool, allowed: bool
) -> None:
    assert (answer_refusal(request(level), approve, principal(*scopes), NOW) is None) is allowed


def test_an_answer_signed_before_the_request_was_asked_is_a_replay() -> None:
    reason = answer_refusal(request("oncall"), True, principal("admin"), NOW - dt.timedelta(minutes=5))
    assert reason is not None
    assert "before this request was asked: a replay" in reason
    assert answer_refusal(request("oncall"), True, principal("admin"), NOW - dt.timedelta(seconds=30)) is None
