"""`healer emit`: publish an event on the bus as a user's own system would, validated first."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from healer_cli import demo
from healer_cli.runtime import ConfigOption, console, fail, run, settings_or_exit
from healer_common.contract.codec import describe
from healer_common.contract.events import EVENT_ADAPTER, Event
from healer_common.runtime.busclient import BusClient

app = typer.Typer(help="Publish an event on the bus, as a user's own system would.", no_args_is_help=True)


async def _publish_event(config: Path | None, source: str, event: Event) -> str:
    settings = settings_or_exit(config)
    subject = settings.space.custom_events(source)
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
        await bus.publish_event(subject, event)
    return subject


@app.command("condition")
def emit_condition(
    pod: Annotated[str, typer.Argument(help="namespace/name of the pod, e.g. cto/rex-1")],
    reason: Annotated[str, typer.Argument(help="e.g. OOMKilled, ImagePullBackOff, CrashLoopBackOff, Ready")],
    message: Annotated[str | None, typer.Option(help="what was observed")] = None,
    cluster: Annotated[str, typer.Option(help="the cluster's name")] = "default",
    source: Annotated[str, typer.Option(help="published on healer.events.custom.<source>")] = "cli",
    config: Path | None = ConfigOption,
) -> None:
    """Publish a healer.condition.v1 event about a pod."""
    event = demo.condition_event(pod, reason, cluster=cluster, message=message, source=source)
    subject = run(_publish_event(config, source, event))
    console.print(f"published {reason} for pod {pod} on {subject}")


@app.command("file")
def emit_file(
    path: Annotated[str, typer.Argument(help="a CloudEvent JSON file, or - for standard input")],
    source: Annotated[str, typer.Option(help="published on healer.events.custom.<source>")] = "cli",
    config: Path | None = ConfigOption,
) -> None:
    """Validate and publish a CloudEvent from a file, reporting what is wrong with it if anything."""
    body = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    try:
        event = EVENT_ADAPTER.validate_json(body)
    except ValidationError as exc:
        fail(describe(exc), label="not a valid Healer event", code=2)
    subject = run(_publish_event(config, source, event))
    console.print(f"published {event.type} {event.id} on {subject}")
