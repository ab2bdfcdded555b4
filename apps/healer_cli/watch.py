"""`healer watch`: print what flows on the bus as it happens (alerts by default), one line each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_common.runtime.busclient import BusClient
from healer_common.settings import Settings

FAMILIES = ("alerts", "incidents", "remediations", "audit", "dlq", "events")


def subject_of(settings: Settings, family: str) -> str:
    space = settings.space
    return {
        "alerts": space.all_alerts,
        "incidents": space.all_incidents,
        "remediations": space.all_remediations,
        "audit": space.all_audit,
        "dlq": space.all_dlq,
        "events": space.all_events,
    }[family]


def one_line(subject: str, data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return f"{subject} (not JSON, {len(data)} bytes)"
    for keys in (
        ("status", "severity", "annotations"),
        ("state", "title"),
        ("state", "playbook", "reason"),
        ("decision", "action", "reason"),
        ("reason",),
    ):
        if all(k in body for k in keys):
            parts = [str(body[k] if k != "annotations" else body[k].get("summary", "")) for k in keys]
            return f"{subject}  " + "  ".join(parts)
    return f"{subject}  {data[:200].decode(errors='replace')}"


async def watch(settings: Settings, families: list[str], as_json: bool, count: int | None) -> None:
    async with BusClient(settings, name="healer-watch") as bus:
        seen = 0
        async for msg in bus.subscribe(*(subject_of(settings, f) for f in families)):
            if as_json:
                console.print(msg.data.decode(errors="replace"), markup=False, highlight=False, soft_wrap=True)
            else:
                console.print(one_line(msg.subject, msg.data), markup=False, highlight=False)
            seen += 1
            if count is not None and seen >= count:
                return


def command(
    families: Annotated[list[str] | None, typer.Argument(help=f"any of {', '.join(FAMILIES)}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print whole messages")] = False,
    count: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Print alerts (or incidents, remediations, audit, dlq, events) as they are published."""
    chosen = families or ["alerts"]
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        fail(f"unknown family {', '.join(unknown)}; choose from {', '.join(FAMILIES)}", code=2)
    run(watch(settings_or_exit(config), chosen, as_json, count))
