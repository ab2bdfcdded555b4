"""`healer history`: what happened, read back from JetStream by time: alerts, incident revisions and
remediation runs, oldest first, one line each (or one JSON object per line with `--json`).

    healer history --since 24h [--alerts-only] [--namespace cto] [--json]

The streams are the history (HEALER_ALERTS keeps 30 days, incidents and remediations 90 by default), so
this needs only NATS, no service running.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from healer_cli.durations import parse_duration
from healer_cli.progress import Advance, progress
from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_common.contract.streams import ALERTS, INCIDENTS, REMEDIATIONS, StreamSpec
from healer_common.contract.subjects import SubjectSpace
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings


@dataclass(frozen=True)
class Entry:
    time: dt.datetime
    kind: str
    subject: str
    body: dict[str, Any]


def _sources(space: SubjectSpace, alerts_only: bool) -> list[tuple[str, StreamSpec, str]]:
    sources = [("alert", ALERTS, space.all_alerts)]
    if not alerts_only:
        sources += [("incident", INCIDENTS, space.all_incidents), ("remediation", REMEDIATIONS, space.all_remediations)]
    return sources


def namespace_of(kind: str, body: dict[str, Any]) -> str | None:
    if kind == "remediation":
        return (body.get("target") or {}).get("namespace")
    return body.get("namespace")


async def read(settings: Settings, since: dt.datetime, *, alerts_only: bool, namespace: str | None) -> list[Entry]:
    """Every alert (and incident revision and remediation run) stored since `since`, oldest first."""
    entries: list[Entry] = []
    async with BusClient(settings, name="healer-history") as bus:
        with progress("reading history") as advance:
            await _read_into(entries, bus, settings, since, alerts_only, namespace, advance)
    return sorted(entries, key=lambda e: e.time)


async def _read_into(
    entries: list[Entry],
    bus: BusClient,
    settings: Settings,
    since: dt.datetime,
    alerts_only: bool,
    namespace: str | None,
    advance: Advance,
) -> None:
    for kind, spec, subject in _sources(settings.space, alerts_only):
        advance(0, description=f"reading {kind}s")
        async for msg in bus.history(spec, since, filter_subject=subject):
            advance()
            try:
                body = json.loads(msg.data)
            except ValueError:
                continue  # not Healer's: the streams accept any body, the DLQ tells why
            if namespace is None or namespace_of(kind, body) == namespace:
                entries.append(Entry(msg.stored_at or since, kind, msg.subject, body))


def line(entry: Entry) -> str:
    body, when = entry.body, f"{entry.time:%Y-%m-%d %H:%M:%S}"
    if entry.kind == "alert":
        summary = (body.get("annotations") or {}).get("summary", "")
        what = f"{body.get('alert_id')} {body.get('status')} {body.get('severity')}  {summary}"
    elif entry.kind == "incident":
        causes = body.get("causes") or [{}]
        cause = causes[0].get("description", "unknown")
        what = (
            f"{body.get('incident_id')} {body.get('state')} rev {body.get('revision')} {body.get('severity')}  "
            f"{body.get('title')}  (likely cause: {cause})"
        )
    else:
        target = body.get("target") or {}
        where = f"{target.get('namespace') or '-'}/{target.get('name')}" if target else body.get("cluster", "")
        what = f"{body.get('remediation_id')} {body.get('state')} {body.get('playbook')} on {where}"
    return f"{when}  {entry.kind:<11} {what}"


def command(
    since: Annotated[str, typer.Option(help="how far back, e.g. 30m, 24h, 7d")] = "24h",
    alerts_only: Annotated[
        bool, typer.Option("--alerts-only", help="alerts, without incidents and remediations")
    ] = False,
    namespace: Annotated[str | None, typer.Option(help="only what concerns this namespace")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Read alerts, incidents and remediations back from JetStream by time, oldest first."""
    try:
        start = dt.datetime.now(dt.UTC) - parse_duration(since)
    except ValueError as exc:
        fail(str(exc), label="--since", code=2)
    entries = run(read(settings_or_exit(config), start, alerts_only=alerts_only, namespace=namespace))
    for entry in entries:
        if as_json:
            record = {
                "time": entry.time.isoformat(),
                "kind": entry.kind,
                "subject": entry.subject,
                "message": entry.body,
            }
            console.print(json.dumps(record), markup=False, highlight=False, soft_wrap=True)
        else:
            console.print(line(entry), markup=False, highlight=False, soft_wrap=True)
