"""`healer dashboard`: the web dashboard's view in the terminal, live and keyboard-driven (tui.py).

It reads the read API (`services/api`), so it shows exactly what the page shows: by default the api service of
this installation (`http://<http.host>:<its port>`), or `--api URL` for another one (a port-forward of
`svc/healer-api`). Acting (approve, deny, ack, silence) presents a credential's token: `--token`, else
HEALER_AUTH__TOKEN, else the first fitting one in the credentials file (`healer up` writes it), as every command.
"""

from __future__ import annotations

import contextlib
import getpass
from pathlib import Path
from typing import Annotated

import typer

from healer_cli.credentials import client_token
from healer_cli.runtime import ConfigOption, settings_or_exit
from healer_common.contract.auth import ANY_APPROVAL
from healer_common.errors import ConfigError


def command(
    api: Annotated[str | None, typer.Option(help="the read API's base URL (default: this installation's api)")] = None,
    by: Annotated[str | None, typer.Option(help="who answers and acknowledges (default: your user name)")] = None,
    token: Annotated[
        str | None, typer.Option(help="a credential's bearer token (default: yours, as the CLI finds it)")
    ] = None,
    config: Path | None = ConfigOption,
) -> None:
    """Show the dashboard in this terminal: health, tiles, incidents, approvals, CodeRuns, alerts; act with keys."""
    from healer_cli.tui import DashboardApp  # noqa: PLC0415 - textual loads only for this command

    settings = settings_or_exit(config)
    base = api or f"http://{settings.http.host}:{settings.http_port('api')}"
    if token is None:
        with contextlib.suppress(ConfigError):  # none at hand: the dashboard still shows, and says so on acting
            _, token = client_token(settings, ANY_APPROVAL)
    DashboardApp(base, by or getpass.getuser(), token).run()
