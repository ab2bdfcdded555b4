"""`healer dlq list | replay`: the dead letters (input a service could not use, with the reason) read back from
HEALER_DLQ, and re-published for the operator who fixed the cause.

    healer dlq list   [--since 24h] [--until 0s] [--subject 'healer.events.custom.*'] [--reason 'JSON'] [--service S]
    healer dlq replay [the same filters] [--dry-run]

`replay` re-publishes each chosen letter's original body and headers on its original subject, once: the letter
is claimed in Redis (`<prefix>:dlq:replayed:<letter id>`, kept as long as the DLQ stream keeps letters) before it
is published, so a second replay of the same letters does nothing, and two operators replaying at once never
publish a letter twice. A letter holding only an excerpt (its body was over limits.dead_letter_excerpt_bytes) is
replayed from the original, read from its stream by sequence while the stream still holds it. Each replay is
audited (`dlq_replay` on healer.audit.cli). A request/reply letter is not replayed: nobody waits for its answer.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer
from redis.asyncio import Redis

from healer_cli.durations import parse_duration
from healer_cli.runtime import ConfigOption, console, errors, line, run, settings_or_exit
from healer_cli.tables import Column, show
from healer_common.contract.audit import AuditRecord
from healer_common.contract.health import DeadLetter
from healer_common.contract.messages import stable_id
from healer_common.contract.streams import DLQ, STREAMS
from healer_common.contract.subjects import SubjectSpace
from healer_common.runtime.busclient import BusClient
from healer_common.runtime.state import KeySpace, reachable_redis
from healer_common.settings import Settings

app = typer.Typer(help="Dead letters: what services could not use, and why; replay them once the cause is fixed.")
Outcome = Literal["replayed", "would replay", "already replayed", "not replayable", "failed"]
DROPPED_HEADERS = frozenset({"nats-msg-id", "nats-expected-stream", "nats-expected-last-sequence"})


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcards: `*` is one token, a final `>` one or more."""
    want, have = pattern.split("."), subject.split(".")
    for index, part in enumerate(want):
        if part == ">" and index == len(want) - 1:
            return len(have) > index
        if index >= len(have) or part not in ("*", have[index]):
            return False
    return len(want) == len(have)


@dataclass(frozen=True)
class LetterFilter:
    subject: str | None = None
    reason: str | None = None
    service: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (self.subject is None or subject_matches(self.subject, letter.subject))
            and (self.reason is None or self.reason.lower() in letter.reason.lower())
            and (self.service is None or self.service == letter.service)
        )


@dataclass(frozen=True)
class Stored:
    letter: DeadLetter
    stored_at: dt.datetime


def stream_of(space: SubjectSpace, subject: str) -> str | None:
    """The stream that holds `subject`, or None for a subject no stream keeps (request/reply)."""
    for spec in STREAMS:
        if any(subject_matches(pattern, subject) for pattern in spec.subjects(space)):
            return spec.name(space)
    return None


async def read_letters(
    settings: Settings, since: dt.datetime, until: dt.datetime, chosen: LetterFilter
) -> list[Stored]:
    found = []
    async with BusClient(settings, name="healer-dlq") as bus:
        async for msg in bus.history(DLQ, since, settings.space.all_dlq):
            stored_at = msg.stored_at or since
            if stored_at > until:
                break
            try:
                letter = DeadLetter.model_validate_json(msg.data)
            except ValueError:
                continue  # not a Healer dead letter: the stream accepts any body
            if chosen.matches(letter):
                found.append(Stored(letter, stored_at))
    return found


async def original_body(bus: BusClient, letter: DeadLetter) -> bytes | None:
    """The body as it was first published: from the letter, or from its stream when the letter holds an excerpt."""
    if not letter.truncated:
        return base64.b64decode(letter.payload) if letter.payload_encoding == "base64" else letter.payload.encode()
    if letter.stream is None or letter.stream_seq is None:
        return None
    original = await bus.stored(letter.stream, letter.stream_seq)
    return original.data if original is not None else None


def replay_headers(letter: DeadLetter) -> dict[str, str]:
    """The original headers with a new message id: the stream's duplicate window would drop the old one."""
    kept = {k: v for k, v in letter.headers.items() if k.lower() not in DROPPED_HEADERS}
    return {**kept, "Nats-Msg-Id": stable_id("dlq-replay", letter.event_id), "Healer-Replay-Of": letter.event_id}


@dataclass(frozen=True)
class Replayer:
    """Replays letters once each, through one bus connection and one Redis client, auditing each replay."""

    settings: Settings
    bus: BusClient
    redis: Redis
    actor: str
    dry_run: bool

    def claim_ttl_s(self) -> int:
        days = self.settings.bus.retention_days.get(DLQ.key)
        return int(days * 86_400 if days else DLQ.max_age_s)

    async def replay(self, letter: DeadLetter) -> tuple[Outcome, str]:
        if stream_of(self.settings.space, letter.subject) is None:
            return "not replayable", "a request/reply message: nobody waits for its answer now"
        body = await original_body(self.bus, letter)
        if body is None:
            return "not replayable", f"only an excerpt is kept and {letter.stream} no longer holds the original"
        if self.dry_run:
            return "would replay", f"{len(body)} bytes to {letter.subject}"
        key = KeySpace(self.settings.redis.key_prefix)("dlq", "replayed", letter.event_id)
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if not await self.redis.set(key, f"{now} by {self.actor}", nx=True, ex=self.claim_ttl_s()):
            claimed = await self.redis.get(key)
            return "already replayed", f"at {claimed!s}"
        try:
            await self.bus.publish_raw(letter.subject, body, replay_headers(letter))
        except Exception as exc:  # noqa: BLE001 - unclaimed again, so the next replay tries it; the table says why
            await self.redis.delete(key)
            return "failed", f"{type(exc).__name__}: {exc}"
        await self.bus.publish(self.audit(letter))
        return "replayed", f"{len(body)} bytes to {letter.subject}"

    def audit(self, letter: DeadLetter) -> AuditRecord:
        return AuditRecord(
            event_id=stable_id("dlq-replay-audit", letter.event_id),
            service="cli",
            actor=self.actor,
            action="dlq_replay",
            decision="replayed",
            target=letter.subject[:512],
            reason=letter.reason[:1_024],
            details={"letter": letter.event_id, "from_service": letter.service, "size": letter.size},
        )


async def replay_letters(settings: Settings, letters: list[Stored], dry_run: bool) -> list[tuple[Outcome, str]]:
    redis = await reachable_redis(settings)
    try:
        async with BusClient(settings, name="healer-dlq") as bus:
            replayer = Replayer(settings, bus, redis, getpass.getuser(), dry_run)
            return [await replayer.replay(stored.letter) for stored in letters]
    finally:
        await redis.aclose()


def _window(since: str, until: str) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    try:
        return now - parse_duration(since), now - (
            parse_duration(until) if until not in ("0", "0s", "now") else dt.timedelta()
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


Since = Annotated[str, typer.Option(help="letters stored since this long ago: 30m, 24h, 7d")]
Until = Annotated[str, typer.Option(help="and until this long ago (now by default)")]
SubjectOpt = Annotated[str | None, typer.Option("--subject", help="original subject; NATS wildcards * and >")]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="text the reason contains (any case)")]
ServiceOpt = Annotated[str | None, typer.Option("--service", help="only letters of this service")]


def _row(stored: Stored, outcome: str = "", detail: str = "") -> list[str]:
    letter = stored.letter
    size = (
        f"{letter.size if letter.size is not None else len(letter.payload)}{' (excerpt)' if letter.truncated else ''}"
    )
    return [
        f"{stored.stored_at:%Y-%m-%d %H:%M:%S}",
        letter.service,
        letter.subject,
        size,
        letter.reason,
        outcome,
        detail,
    ]


COLUMNS = [
    Column("stored", key=True),
    Column("service", key=True),
    Column("subject"),
    Column("bytes"),
    Column("reason"),
]


@app.command("list")
def list_command(
    since: Since = "24h",
    until: Until = "0s",
    subject: SubjectOpt = None,
    reason: ReasonOpt = None,
    service: ServiceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="one letter per line, as stored")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """The dead letters stored in a time window, oldest first, with the reason each was refused."""
    settings = settings_or_exit(config)
    letters = run(read_letters(settings, *_window(since, until), LetterFilter(subject, reason, service)))
    if as_json:
        for stored in letters:
            console.print(json.dumps(stored.letter.model_dump(mode="json")), soft_wrap=True)
        return
    show(console, COLUMNS, [_row(s)[:5] for s in letters], title=f"{len(letters)} dead letter(s)")


@app.command("replay")
def replay_command(
    since: Since = "24h",
    until: Until = "0s",
    subject: SubjectOpt = None,
    reason: ReasonOpt = None,
    service: ServiceOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would be replayed; publish nothing")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Re-publish the chosen letters on their original subjects, each once (a second replay does nothing)."""
    settings = settings_or_exit(config)
    letters = run(read_letters(settings, *_window(since, until), LetterFilter(subject, reason, service)))
    outcomes = run(replay_letters(settings, letters, dry_run)) if letters else []
    rows = [_row(s, outcome, detail) for s, (outcome, detail) in zip(letters, outcomes, strict=True)]
    show(console, [*COLUMNS, Column("outcome", key=True), Column("detail")], rows)
    counts = {o: sum(1 for got, _ in outcomes if got == o) for o in dict.fromkeys(o for o, _ in outcomes)}
    line(", ".join(f"{n} {o}" for o, n in counts.items()) or "no dead letter matches")
    if counts.get("failed"):
        line(("some letters could not be replayed; run the same command again to retry them", "yellow"), to=errors)
        raise typer.Exit(1)
