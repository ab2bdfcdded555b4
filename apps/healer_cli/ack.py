"""`healer ack INCIDENT`: take an incident, so its escalation stops; published as an IncidentAck on
`healer.acks.<incident id>`, which the notifier reads (and tells the channels that heard of the incident,
PagerDuty included, which acknowledges its alert).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.runtime import ConfigOption, console, run, settings_or_exit
from healer_common.contract.incidents import IncidentAck
from healer_common.runtime.busclient import BusClient


async def publish_ack(config: Path | None, ack: IncidentAck) -> str:
    settings = settings_or_exit(config)
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
        await bus.publish(ack)
    return settings.space.acks(ack.incident_id)


def ack(
    incident: Annotated[str, typer.Argument(help="the incident id, as notifications show it")],
    by: Annotated[str | None, typer.Option(help="who takes it (default: your login name)")] = None,
    reason: Annotated[str | None, typer.Option(help="a word on why or what happens next")] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Acknowledge an incident: its escalation stops and the channels that heard of it are told."""
    taken = IncidentAck(incident_id=incident, by=by or getpass.getuser(), source="cli", reason=reason)
    subject = run(publish_ack(config, taken))
    console.print(f"acknowledged {incident} as {taken.by} on {subject}")
