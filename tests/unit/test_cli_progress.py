"""Progress on long commands: a bar while stderr is a terminal, not one character when it is piped."""

from __future__ import annotations

import io

from rich.console import Console

from healer_cli.progress import progress


def run_with(console: Console) -> str:
    with progress("reading history", console=console) as advance:
        for _ in range(3):
            advance()
        advance(0, description="reading incidents")
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_piped_output_gets_no_progress_at_all() -> None:
    assert run_with(Console(file=io.StringIO(), force_terminal=False)) == ""


def test_a_terminal_sees_the_bar_while_it_runs() -> None:
    shown = run_with(Console(file=io.StringIO(), force_terminal=True, width=100))
    assert "reading" in shown
