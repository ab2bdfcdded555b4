"""`healer audit --since 24h`: every decision Healer's services took, read back from the audit stream
(HEALER_AUDIT, a year by default): what was done, skipped or refused, by whom, on what, and why.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.durations import parse_since
from healer_cli.runtime import ConfigOption, console, errors, line, run, settings_or_exit
from healer_common.contract.audit import AuditRecord
from healer_common.contract.streams import AUDIT
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings


def one_line(record: AuditRecord) -> str:
    mode = " (dry run)" if record.dry_run else ""
    target = f" {record.target}" if record.target else ""
    reason = f" — {record.reason}" if record.reason else ""
    return (
        f"{record.time:%Y-%m-%d %H:%M:%S}Z {record.service:<13} {record.action} {record.decision}{mode}{target}{reason}"
    )


async def read_audit(
    settings: Settings, since: dt.timedelta, service: str | None, limit: int | None
) -> list[AuditRecord]:
    start = dt.datetime.now(dt.UTC) - since
    subject = settings.space.audit(service) if service else settings.space.all_audit
    async with BusClient(settings, name="healer-audit") as bus:
        return [AuditRecord.model_validate_json(m.data) async for m in bus.history(AUDIT, start, subject, limit)]


def audit_command(
    since: Annotated[str, typer.Option(help="how far back: 30m, 24h, 7d")] = "24h",
    service: Annotated[str | None, typer.Option(help="only this service, e.g. remediator")] = None,
    remediation: Annotated[str | None, typer.Option(help="only the decisions of this remediation id")] = None,
    limit: Annotated[int | None, typer.Option(help="at most this many records")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON record per line")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Print the decisions Healer took since a time: acted, skipped, refused, approved, denied, and why."""
    records = run(read_audit(settings_or_exit(config), parse_since(since), service, limit))
    shown = [r for r in records if remediation is None or r.remediation_id == remediation]
    for record in shown:
        text = json.dumps(record.model_dump(mode="json")) if as_json else one_line(record)
        console.print(text, markup=False, highlight=False, soft_wrap=True)
    if not shown and not as_json:
        line(f"no decisions in the last {since}", to=errors)
