"""What every command shares: loading settings (with `--config`), running a coroutine, and turning a bad
config or an unreachable server into one clear line and a non-zero exit instead of a traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from healer_common.errors import ConfigError, HealerError
from healer_common.settings import Settings, load_settings

T = TypeVar("T")
console = Console()
errors = Console(stderr=True)

ConfigOption = typer.Option(None, "--config", "-c", envvar="HEALER_CONFIG", help="YAML settings file")


def settings_or_exit(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except ConfigError as exc:
        errors.print(f"[red]bad configuration:[/red] {exc}", markup=True, highlight=False)
        raise typer.Exit(2) from None


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        errors.print(f"[red]bad configuration:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    except HealerError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None
    except (OSError, TimeoutError) as exc:
        errors.print(f"[red]cannot reach a server:[/red] {exc!r}", highlight=False)
        raise typer.Exit(1) from None
