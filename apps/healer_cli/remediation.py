"""`healer approve ID`, `healer deny ID`, `healer pause`, `healer resume`: a person's say over the remediator.

Answers travel as ApprovalDecisions on `healer.approvals.<id>`, the same path the HTTP endpoint and chat use,
signed with the user's credential (apps/healer_cli/credentials.py): the remediator takes the approver from it.
The kill switch lives in Redis, where every remediator replica reads it before each action; throwing it is
audited on `healer.audit.cli`.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.credentials import client_token
from healer_cli.runtime import ConfigOption, console, errors, line, run, settings_or_exit
from healer_common.clock import SystemClock
from healer_common.contract.audit import AuditRecord
from healer_common.contract.auth import ANY_APPROVAL, attest
from healer_common.contract.remediations import ApprovalDecision
from healer_common.errors import Unreachable
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.state import KeySpace, reachable_redis
from healer_common.settings import Settings
from services.remediator.adapters.switches import Switches

By = Annotated[str | None, typer.Option("--by", help="who answers (default: your user name)")]
Reason = Annotated[str | None, typer.Option("--reason", "-r", help="why, for the audit trail")]


async def _answer(settings: Settings, remediation_id: str, decision: str, reason: str | None) -> str:
    """Publish the answer signed with this user's credential, which is who the remediator says answered."""
    name, token = client_token(settings, ANY_APPROVAL)
    message = ApprovalDecision.model_validate(
        {"remediation_id": remediation_id, "decision": decision, "by": name, "reason": reason}
    )
    message = message.evolve(attestation=attest(token, message.statement(), SystemClock().now()))
    async with BusClient(settings) as bus:
        await bus.publish(message)
    return name


async def _switch(settings: Settings, on: bool, by: str, reason: str) -> str:
    redis = await reachable_redis(settings)
    switches = Switches(redis, KeySpace(settings.redis.key_prefix))
    now = SystemClock().now()
    try:
        if on:
            said = str(await switches.pause(by, reason, now))
        else:
            was = await switches.resume()
            said = f"resumed (was {was})" if was else "the remediator was not paused"
    finally:
        await redis.aclose()
    record = AuditRecord(
        service="cli", actor=by, action="kill_switch", decision="paused" if on else "resumed", reason=reason, time=now
    )
    try:
        async with BusClient(settings, connect_timeout=2.0) as bus:
            await bus.publish(record)
    except Unreachable as exc:
        line(("warning: ", "yellow"), f"not audited: {exc}", to=errors)
    return said


def approve(remediation_id: str, reason: Reason = None, config: Path | None = ConfigOption) -> None:
    """Approve a remediation that waits for a human (its id is in the notification), as your credential."""
    name = run(_answer(settings_or_exit(config), remediation_id, "approve", reason))
    console.print(f"approved {remediation_id} as {name}; the remediator carries on if {name} may approve it")


def deny(remediation_id: str, reason: Reason = None, config: Path | None = ConfigOption) -> None:
    """Deny a remediation that waits for a human: it stops, and nothing is changed."""
    name = run(_answer(settings_or_exit(config), remediation_id, "deny", reason))
    console.print(f"denied {remediation_id} as {name}; the remediator stops it")


def pause(by: By = None, reason: Reason = None, config: Path | None = ConfigOption) -> None:
    """Kill switch: the remediator acts on nothing until `healer resume` (runs wait, new ones are skipped)."""
    console.print(run(_switch(settings_or_exit(config), True, by or getpass.getuser(), reason or "")))


def resume(by: By = None, reason: Reason = None, config: Path | None = ConfigOption) -> None:
    """Lift the kill switch."""
    console.print(run(_switch(settings_or_exit(config), False, by or getpass.getuser(), reason or "")))
