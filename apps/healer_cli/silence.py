"""`healer silence`: mute alerts by their labels for a while, with a reason, and see or end those in force.

    healer silence --duration 2h --reason "scheduled maintenance"                 everything: a maintenance window
    healer silence --duration 2h --reason "..." --namespace cto                   one namespace
    healer silence --duration 2h --reason "..." node=worker-3 [more matchers]    what the matchers match
    healer silence ... --notify-only                                             mute, but let Healer heal
    healer silence list [--all] [--json]
    healer silence expire ID

Matchers are Alertmanager's (`name=value`, `name!=value`, `name=~regex`, `name!~regex`); an alert is silenced
when all of them match (no matchers: every alert). Silences are kept in Redis, where every correlator applies
them (silenced alerts stay in their incidents, never notified) and every remediator holds its actions on what
they match (unless `--notify-only`); each creation and early expiry is audited on `healer.audit.cli`.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from healer_cli.durations import parse_duration
from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.contract.audit import AuditRecord
from healer_common.contract.matchers import Matcher
from healer_common.contract.messages import stable_id
from healer_common.contract.silences import Silence
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.silence_store import SilenceStore
from healer_common.runtime.state import KeySpace, reachable_redis
from healer_common.settings import Settings


class _CreateByDefault(TyperGroup):
    """`healer silence --duration ... matchers` means `healer silence add ...`: creating needs no verb."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Any: typer's vendored click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["add", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CreateByDefault,
    help="Mute alerts by their labels for a while (recorded, never notified); list or expire silences.",
    no_args_is_help=True,
)
AuthorOption = typer.Option(None, "--author", help="who is asking (default: your user name)")


async def _store(settings: Settings) -> tuple[Any, SilenceStore]:
    redis = await reachable_redis(settings)
    return redis, SilenceStore(redis, KeySpace(settings.redis.key_prefix))


async def _audit(bus: BusClient, silence: Silence, decision: str, actor: str) -> None:
    record = AuditRecord(
        event_id=stable_id("silence", silence.silence_id, decision),
        service="cli",
        actor=actor,
        action="silence",
        decision=decision,
        target=silence.scope,
        reason=silence.reason,
        details={
            "silence_id": silence.silence_id,
            "hold_remediation": silence.hold_remediation,
            "starts_at": silence.starts_at.isoformat(),
            "ends_at": silence.ends_at.isoformat(),
        },
    )
    await bus.publish(record)


async def create(settings: Settings, silence: Silence) -> None:
    """Store a silence and audit it (the bus is reached first, so nothing is stored unaudited)."""
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
        redis, store = await _store(settings)
        try:
            await store.put(silence)
            await _audit(bus, silence, "created", silence.author)
        finally:
            await redis.aclose()


async def expire(settings: Settings, silence_id: str, by: str) -> Silence | None:
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
        redis, store = await _store(settings)
        try:
            ended = await store.expire(silence_id, by, dt.datetime.now(dt.UTC))
            if ended is not None and ended.expired_by == by:
                await _audit(bus, ended, "expired", by)
            return ended
        finally:
            await redis.aclose()


async def listed(settings: Settings) -> list[Silence]:
    redis, store = await _store(settings)
    try:
        return await store.all()
    finally:
        await redis.aclose()


def new_silence(
    matchers: list[str],
    duration: str,
    reason: str,
    author: str,
    now: dt.datetime,
    *,
    namespace: str | None = None,
    hold_remediation: bool = True,
) -> Silence:
    """Raise ValueError naming the bad matcher or duration. No matchers and no namespace: every alert."""
    parsed = [Matcher.parse(m) for m in matchers]
    if namespace:
        parsed.append(Matcher.parse(f"namespace={namespace}"))
    return Silence(
        silence_id=uuid.uuid4().hex[:12],
        matchers=parsed,
        starts_at=now,
        ends_at=now + parse_duration(duration),
        reason=reason,
        author=author,
        created_at=now,
        hold_remediation=hold_remediation,
    )


@app.command("add")
def add_command(
    duration: Annotated[str, typer.Option("--duration", "-d", help="how long, e.g. 2h, 30m, 1h30m")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="why, for whoever wonders later")],
    matchers: Annotated[
        list[str] | None, typer.Argument(help='label matchers, e.g. node=worker-3 pod=~"rex-.*"; none: everything')
    ] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="only this namespace")] = None,
    notify_only: Annotated[
        bool, typer.Option("--notify-only", help="mute notifications but let the remediator heal")
    ] = False,
    author: str | None = AuthorOption,
    config: Path | None = ConfigOption,
) -> None:
    """Create a silence (also what `healer silence --duration ... [MATCHERS]` does); it holds remediation of
    what it matches unless --notify-only."""
    try:
        silence = new_silence(
            matchers or [],
            duration,
            reason,
            author or getpass.getuser(),
            dt.datetime.now(dt.UTC),
            namespace=namespace,
            hold_remediation=not notify_only,
        )
    except ValueError as exc:
        fail(str(exc), label="cannot silence", code=2)
    run(create(settings_or_exit(config), silence))
    console.print(f"silence {silence.silence_id} until {silence.ends_at:%Y-%m-%d %H:%M:%S} UTC: {silence.describe()}")


def _state(silence: Silence, now: dt.datetime) -> str:
    if silence.active(now):
        return "active"
    return "pending" if now < silence.starts_at else "ended"


@app.command("list")
def list_command(
    include_ended: Annotated[bool, typer.Option("--all", help="also silences that ended (kept a week)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """List the silences in force (and pending ones)."""
    now = dt.datetime.now(dt.UTC)
    shown = [s for s in run(listed(settings_or_exit(config))) if include_ended or s.ends_at > now]
    if as_json:
        console.print_json(json.dumps([{**s.model_dump(mode="json"), "state": _state(s, now)} for s in shown]))
        return
    rows = [
        [
            s.silence_id,
            _state(s, now),
            s.scope,
            "yes" if s.hold_remediation else "no",
            f"{s.ends_at:%Y-%m-%d %H:%M}",
            s.author,
            s.reason,
        ]
        for s in shown
    ]
    headers = ("state", "matchers", "holds healing", "ends", "author", "reason")
    show(console, [Column("id", key=True), *map(Column, headers)], rows, title=f"Silences ({len(shown)})")


@app.command("expire")
def expire_command(
    silence_id: Annotated[str, typer.Argument(help="the id `healer silence list` shows")],
    author: str | None = AuthorOption,
    config: Path | None = ConfigOption,
) -> None:
    """End a silence now: its alerts are notified again as their incidents change or repeat."""
    ended = run(expire(settings_or_exit(config), silence_id, author or getpass.getuser()))
    if ended is None:
        fail(f"no silence {silence_id}; `healer silence list --all` shows them")
    console.print(f"silence {silence_id} ended at {ended.ends_at:%Y-%m-%d %H:%M:%S} UTC")
