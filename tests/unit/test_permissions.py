"""Who may publish what on NATS, as data: approvals are the CLI's and the remediator's API only, each service
publishes its own subjects, audit and dead letters, and nobody deletes or purges a stream."""

from __future__ import annotations

import json

from healer_cli.nats_config import accounts_block
from healer_common.contract.permissions import IDENTITIES, permissions
from healer_common.contract.subjects import SubjectSpace

SPACE = SubjectSpace("healer")


def allowed(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: `*` one token, `>` one or more tokens at the end."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > i
        if i >= len(tokens) or token not in ("*", tokens[i]):
            return False
    return len(tokens) == len(wanted)


def may_publish(identity: str, subject: str) -> bool:
    rights = permissions(SPACE)[identity]
    return any(allowed(p, subject) for p in rights.publish) and not any(
        allowed(p, subject) for p in rights.deny_publish
    )


def test_only_the_cli_and_the_approval_endpoints_may_publish_approvals() -> None:
    who = {i for i in IDENTITIES if may_publish(i, SPACE.approvals("rem-1"))}
    assert who == {"cli", "remediator", "api"}


def test_each_service_publishes_its_own_subjects_audit_and_dead_letters_only() -> None:
    assert may_publish("collector", SPACE.custom_events("ci"))
    assert not may_publish("collector", SPACE.alerts("H8"))
    assert may_publish("detector", SPACE.alerts("H8"))
    assert not may_publish("detector", SPACE.incidents("opened"))
    assert may_publish("detector", SPACE.in_partition(SPACE.custom_events("ci"), 3)), "the intake's republish"
    assert not may_publish("detector", SPACE.custom_events("ci"))
    assert may_publish("memory-bridge", SPACE.alerts("H10"))
    assert not may_publish("memory-bridge", SPACE.alerts("H8"))
    assert may_publish("notifier", SPACE.acks("inc-1"))
    for identity in ("collector", "detector", "correlator", "remediator", "notifier", "memory-bridge", "api"):
        assert may_publish(identity, SPACE.audit(identity))
        assert may_publish(identity, SPACE.dlq(identity))
        assert not may_publish(identity, SPACE.audit("cli")), f"{identity} may not write another's audit"


def test_nobody_deletes_or_purges_a_stream() -> None:
    for identity in IDENTITIES:
        assert not may_publish(identity, "$JS.API.STREAM.DELETE.HEALER_AUDIT")
        assert not may_publish(identity, "$JS.API.STREAM.PURGE.HEALER_AUDIT")
    assert may_publish("detector", "$JS.API.CONSUMER.MSG.NEXT.HEALER_EVENTS.detector-events")


def test_the_accounts_block_gives_each_identity_its_key_and_rights() -> None:
    keys = {identity: f"U{identity.upper()}" for identity in IDENTITIES}
    text = accounts_block(keys, SPACE)
    users = json.loads(text.split("accounts: ", 1)[1])["HEALER"]["users"]
    assert [u["nkey"] for u in users] == [keys[i] for i in IDENTITIES]
    bridge = next(u for u in users if u["nkey"] == "UMEMORY-BRIDGE")
    assert bridge["permissions"]["allow_responses"] is True
