"""Tables that never cut a name or an id, however narrow the terminal, and that grep reads when piped.

On a terminal, a rich table whose key columns (names, ids) keep their whole width and whose detail columns
share what is left, wrapping inside it. Piped or redirected, or on a terminal too narrow for the key columns
themselves, plain aligned lines with every cell whole, one row per line: `healer status --all | grep remediator`
finds the remediator's row whatever COLUMNS says. `--json` is there for machines; these are for people.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | Text
EDGE = 4  # a table's outer border and its first column's padding
PER_COLUMN = 3  # the rule and padding rich puts between two columns
NARROWEST_DETAIL = 6  # a detail column squeezed below this is unreadable: print plain lines instead


@dataclass(frozen=True)
class Column:
    header: str
    key: bool = False  # a name or an id: always printed whole


def _share(space: int, wanted: list[int]) -> list[int]:
    """Widths for the detail columns within `space`: the narrow ones get what they want, the wide ones share
    the rest evenly (water-filling)."""
    widths = [0] * len(wanted)
    left, pending = space, sorted(range(len(wanted)), key=lambda i: wanted[i])
    while pending:
        fair = left // len(pending)
        i = pending.pop(0)
        widths[i] = min(wanted[i], max(fair, 1))
        left -= widths[i]
    return widths


def _plain(target: Console, columns: Sequence[Column], rows: list[list[Text]], title: str | None) -> None:
    widths = [max([len(c.header), *(len(r[i].plain) for r in rows)]) for i, c in enumerate(columns)]
    if title:
        target.print(title, soft_wrap=True)
    for cells in [[c.header for c in columns], *([t.plain for t in r] for r in rows)]:
        text = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        target.print(text.rstrip(), soft_wrap=True)  # one row, one line, however long
    target.print()


def show(target: Console, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], title: str | None = None) -> None:
    """Print rows under `columns`: a table on a terminal wide enough for the key columns, plain lines otherwise."""
    texts = [[cell if isinstance(cell, Text) else Text(cell) for cell in row] for row in rows]
    natural = [max([len(c.header), *(t[i].cell_len for t in texts)]) for i, c in enumerate(columns)]
    keys = sum(w for w, c in zip(natural, columns, strict=True) if c.key)
    details = [w for w, c in zip(natural, columns, strict=True) if not c.key]
    space = target.width - EDGE - PER_COLUMN * (len(columns) - 1) - keys
    if not target.is_terminal or space < NARROWEST_DETAIL * len(details):
        _plain(target, columns, texts, title)
        return
    shares = iter(_share(space, details))
    table = Table(title=title, title_justify="left")
    for width, column in zip(natural, columns, strict=True):
        if column.key:
            table.add_column(column.header, no_wrap=True, min_width=width)
        else:
            table.add_column(column.header, overflow="fold", max_width=next(shares))
    for row in texts:
        table.add_row(*row)
    target.print(table, soft_wrap=False)
