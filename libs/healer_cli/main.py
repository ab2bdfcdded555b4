"""The `healer` command. Each sub-command lives in its own module; this file only wires them to typer."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from healer_cli import demo, schema, status, watch
from healer_cli.runtime import ConfigOption, console, errors, run, settings_or_exit
from healer_common.bus import VERSION
from healer_common.busclient import BusClient
from healer_common.codec import describe
from healer_common.events import EVENT_ADAPTER

app = typer.Typer(
    help="Healer: the ops agent that watches, heals, asks, tells and remembers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
emit_app = typer.Typer(help="Publish an event on the bus, as a user's own system would.", no_args_is_help=True)
app.add_typer(emit_app, name="emit")


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="where NATS, Redis and memory keep their data")] = Path(".healer"),
    nats_port: Annotated[int, typer.Option(envvar="HEALER_UP_NATS_PORT", help="port for nats-server")] = 4222,
    redis_port: Annotated[int, typer.Option(envvar="HEALER_UP_REDIS_PORT", help="port for redis-server")] = 6379,
    play_demo: Annotated[bool, typer.Option("--demo/--no-demo", help="play the built-in demo incident")] = True,
    config: Path | None = ConfigOption,
) -> None:
    """Start everything on this machine: NATS, Redis and the six services (what `make run` does)."""
    from healer_cli.up import up as run_up  # noqa: PLC0415 - keeps other commands quick to start

    absolute_config = config.resolve() if config else None
    raise typer.Exit(run(run_up(data_dir.resolve(), nats_port, redis_port, play_demo, absolute_config)))


@app.command("status")
def status_command(
    show_all: Annotated[bool, typer.Option("--all", help="also open incidents and instance details")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    config: Path | None = ConfigOption,
) -> None:
    """Show the health of every service, NATS and Redis; exit 1 when anything is down."""
    settings = settings_or_exit(config)
    report = run(status.gather(settings, with_incidents=show_all or as_json))
    status.render(report, as_json=as_json, show_all=show_all)
    raise typer.Exit(0 if report.ok else 1)


@app.command("watch")
def watch_command(
    families: Annotated[list[str] | None, typer.Argument(help=f"any of {', '.join(watch.FAMILIES)}")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print whole messages")] = False,
    count: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Print alerts (or incidents, remediations, audit, dlq, events) as they are published."""
    chosen = families or ["alerts"]
    unknown = [f for f in chosen if f not in watch.FAMILIES]
    if unknown:
        errors.print(f"unknown family {', '.join(unknown)}; choose from {', '.join(watch.FAMILIES)}")
        raise typer.Exit(2)
    run(watch.watch(settings_or_exit(config), chosen, as_json, count))


async def _publish_event(config: Path | None, source: str, body: bytes, msg_id: str) -> str:
    settings = settings_or_exit(config)
    subject = settings.space.custom_events(source)
    async with BusClient(settings) as bus:
        await bus.ensure_streams()
        await bus.publish_raw(subject, body, {"Nats-Msg-Id": msg_id})
    return subject


@emit_app.command("condition")
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
    subject = run(_publish_event(config, source, event.model_dump_json().encode(), f"{event.source}/{event.id}"))
    console.print(f"published {reason} for pod {pod} on {subject}")


@emit_app.command("file")
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
        errors.print(f"[red]not a valid Healer event:[/red] {describe(exc)}", highlight=False)
        raise typer.Exit(2) from None
    subject = run(_publish_event(config, source, event.model_dump_json().encode(), f"{event.source}/{event.id}"))
    console.print(f"published {event.type} {event.id} on {subject}")


@app.command("schema")
def schema_command(
    write: Annotated[Path | None, typer.Option(help="write the JSON Schema files into this folder")] = None,
    check: Annotated[Path | None, typer.Option(help="exit 1 if this folder's files are stale")] = None,
) -> None:
    """Print (or write, or check) the JSON Schema of the event contract and the messages users read."""
    if write is not None:
        for path in schema.write(write):
            console.print(f"wrote {path}")
    elif check is not None:
        if bad := schema.stale(check):
            errors.print(f"stale schema files in {check}: {', '.join(bad)}; run `healer schema --write {check}`")
            raise typer.Exit(1)
        console.print("schemas are up to date")
    else:
        console.print_json(json.dumps({name: json.loads(schema.schema_text(name)) for name in schema.SCHEMAS}))


@app.command()
def version() -> None:
    """Print Healer's version."""
    console.print(VERSION)
