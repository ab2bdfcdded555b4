"""The `healer` command. Each sub-command lives in its own module; this file only wires them to typer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from healer_cli import (
    ack,
    analyze,
    audit,
    config,
    detect,
    emit,
    history,
    memory,
    playbooks,
    remediation,
    sandbox,
    schema,
    silence,
    status,
    watch,
)
from healer_cli.runtime import ConfigOption, console, errors, run, settings_or_exit
from healer_common.bus import VERSION

app = typer.Typer(
    help="Healer: the ops agent that watches, heals, asks, tells and remembers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(emit.app, name="emit")
app.add_typer(config.app, name="config")
app.command("ack")(ack.ack)
app.add_typer(memory.app, name="memory")
app.add_typer(analyze.app, name="analyze")
app.command("predict")(analyze.predict_command)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(silence.app, name="silence")
app.command("history")(history.command)
app.add_typer(detect.app, name="detect")
app.add_typer(playbooks.app, name="playbooks")
remediation.register(app)
audit.register(app)


@app.command()
def up(
    data_dir: Annotated[Path, typer.Option(help="where NATS, Redis and memory keep their data")] = Path(".healer"),
    nats_port: Annotated[int, typer.Option(envvar="HEALER_UP_NATS_PORT", help="port for nats-server")] = 4222,
    redis_port: Annotated[int, typer.Option(envvar="HEALER_UP_REDIS_PORT", help="port for redis-server")] = 6379,
    play_demo: Annotated[
        bool, typer.Option("--demo/--no-demo", help="play the built-in demo incident (only without the sandbox)")
    ] = True,
    sandbox: Annotated[
        bool, typer.Option("--sandbox/--no-sandbox", help="start the sandbox cluster and point the services at it")
    ] = True,
    config: Path | None = ConfigOption,
) -> None:
    """Start everything on this machine: NATS, Redis, the sandbox cluster and the six services (`make run`)."""
    from healer_cli.up import up as run_up  # noqa: PLC0415 - keeps other commands quick to start

    absolute_config = config.resolve() if config else None
    code = run(run_up(data_dir.resolve(), nats_port, redis_port, play_demo, absolute_config, sandbox))
    raise typer.Exit(code)


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
