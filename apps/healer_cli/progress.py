"""Progress on long commands (`healer history` over long ranges, `healer analyze`, benchmarks): a rich bar on
stderr while it is a terminal, nothing at all when it is piped or redirected, so scripts read clean output.

    with progress("reading alerts") as advance:
        for item in items:
            advance()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from healer_cli.runtime import errors

Advance = Callable[..., None]


@contextlib.contextmanager
def progress(description: str, total: int | None = None, *, console: Console | None = None) -> Iterator[Advance]:
    """Yield `advance(n=1, description=None)`; the bar goes away when the block ends (transient)."""
    shown_on = console or errors
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if total is not None else TextColumn("{task.completed:,} done"),
        TimeElapsedColumn(),
        console=shown_on,
        transient=True,
        disable=not shown_on.is_terminal,
    )
    with bar:
        task = bar.add_task(description, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            bar.update(task, advance=n, description=description)

        yield advance
