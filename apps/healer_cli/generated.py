"""Tables the docs hold between markers and the code generates (`healer config table`, `healer catalogue
table`): one way to put a table in place and to tell when the docs' copy is stale.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def replace_between(document: str, start: str, end: str, body: str) -> str:
    if start not in document or end not in document:
        raise ValueError(f"the document has no markers; add {start!r} and {end!r} where the table goes")
    head, rest = document.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def write_section(path: Path, start: str, end: str, body: Callable[[], str]) -> bool:
    """Rewrite the section in place; True when something changed."""
    before = path.read_text()
    after = replace_between(before, start, end, body())
    path.write_text(after)
    return after != before


def section_stale(path: Path, start: str, end: str, body: Callable[[], str]) -> bool:
    text = path.read_text()
    return replace_between(text, start, end, body()) != text
