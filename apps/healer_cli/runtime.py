"""What every command shares: the two consoles, loading settings (with `--config`), running a coroutine, and
turning a bad config, an unreachable server or any other failure into one line and a non-zero exit instead of a
traceback (`healer --debug ...` shows the traceback).

The consoles interpret no rich markup: what the CLI prints comes from users, clusters and servers (pod names,
error texts, `[...]` in a reason), and must print as it is. Colour is asked for explicitly, with `line()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from healer_common.errors import ConfigError, HealerError
from healer_common.settings import Settings, load_settings

T = TypeVar("T")
console = Console(markup=False, highlight=False, soft_wrap=True)  # a line longer than the terminal stays one line
errors = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
DEBUG = {"on": False}  # set by `healer --debug`: failures then raise with their traceback

ConfigOption = typer.Option(None, "--config", "-c", envvar="HEALER_CONFIG", help="YAML settings file")
EXIT_FAILED = 1
EXIT_BAD_CONFIG = 2


def line(*parts: str | tuple[str, str], to: Console = console) -> None:
    """One line, never wrapped: plain strings as they are, `(text, style)` pairs in that style."""
    to.print(Text.assemble(*parts))


def fail(message: str, *, label: str = "", code: int = EXIT_FAILED) -> NoReturn:
    """Say what went wrong on one line of stderr and end the command with `code`."""
    line(*([(f"{label}: ", "red")] if label else []), (message, "" if label else "red"), to=errors)
    raise typer.Exit(code)


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    """The settings, or one line naming the bad field and exit 2."""
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        if DEBUG["on"]:
            raise
        fail(str(exc), label="bad configuration", code=EXIT_BAD_CONFIG)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; Healer's own errors end it with one line (a traceback only with --debug)."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        if DEBUG["on"]:
            raise
        fail(str(exc), label="bad configuration", code=EXIT_BAD_CONFIG)
    except HealerError as exc:
        if DEBUG["on"]:
            raise
        fail(str(exc))
