"""`healer dashboard`: the web dashboard's view in the terminal, live and keyboard-driven (tui.py).

It reads the read API (`services/api`), so it shows exactly what the page shows: by default the api service of
this installation (`http://<http.host>:<its port>`), or `--api URL` for another one (a port-forward of
`svc/healer-api`). With `api.token` set, pass it as `--token` or HEALER_API__TOKEN.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.runtime import ConfigOption, settings_or_exit


def command(
    api: Annotated[str | None, typer.Option(help="the read API's base URL (default: this installation's api)")] = None,
    by: Annotated[str | None, typer.Option(help="who answers and acknowledges (default: your user name)")] = None,
    token: Annotated[str | None, typer.Option(envvar="HEALER_API__TOKEN", help="bearer token (api.token)")] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Show the dashboard in this terminal: health, tiles, incidents, approvals, CodeRuns, alerts; act with keys."""
    from healer_cli.tui import DashboardApp  # noqa: PLC0415 - textual loads only for this command

    settings = settings_or_exit(config)
    base = api or f"http://{settings.http.host}:{settings.http_port('api')}"
    DashboardApp(base, by or getpass.getuser(), token).run()
