"""One way to write a duration, wherever Healer reads or prints one: settings, playbooks, escalation delays,
the CLI's `--duration` and `--since`, the sandbox's scenarios, and the summaries people read.

    90          plain numbers are seconds
    500ms 30s 15m 1h 2d 1w              one unit: ms, s, m, h, d, w
    1h30m 1d2h 1w3d 2m30s500ms          compound: largest unit first, each unit once (as Prometheus writes them)
    0.5h 1.5d                           a part may have decimals

`parse_duration` reads that grammar into seconds; `format_duration` writes seconds back in it (so
`parse_duration(format_duration(s)) == s` to the millisecond), optionally rounded to its `parts` largest
units; `spoken_duration` says it in words for summaries ("5 days", "1 hour 30 minutes"). Callers bound the
value for their use (a silence must last, a delay may be zero) with pydantic constraints or a comparison.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, Field

UNITS: tuple[tuple[str, int], ...] = (
    ("w", 604_800_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
"""Each unit and its length in milliseconds, largest first."""
_MS = dict(UNITS)
_RANK = {unit: rank for rank, (unit, _) in enumerate(UNITS)}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_COMPOUND = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w)\s*)+")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WORDS = {"d": "day", "h": "hour", "m": "minute", "s": "second", "ms": "millisecond"}
HOW = "write seconds (90) or numbers with units, largest first: 500ms, 30s, 15m, 1h30m, 2d, 1w"


def parse_duration(value: object) -> float:
    """Seconds from `90`, `30s`, `1h30m`, `1d2h`, `500ms`; ValueError naming the value and how to write one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a duration; {HOW}")  # noqa: TRY004 - pydantic reports ValueError with the field
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{value!r} is not a duration: a number of seconds must be finite and not negative")
        return float(value)
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if not _COMPOUND.fullmatch(text):
        raise ValueError(f"{value!r} is not a duration; {HOW}")
    parts = _PART.findall(text)
    ranks = [_RANK[unit] for _, unit in parts]
    if ranks != sorted(set(ranks)):
        raise ValueError(f"{value!r} is not a duration: give each unit once, largest first (e.g. 1h30m, not 30m1h)")
    return sum(float(number) * _MS[unit] for number, unit in parts) / 1000


def _pieces(seconds: float, parts: int | None, units: tuple[tuple[str, int], ...]) -> list[tuple[int, str]]:
    """Seconds as (amount, unit) pairs, largest first, zeros left out; rounded to the `parts` largest units."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"cannot write {seconds!r} as a duration: it must be finite and not negative")
    if parts is not None and parts < 1:
        raise ValueError(f"parts={parts}: keep at least one unit")
    total = round(seconds * 1000)
    if parts is not None and total:
        largest = next(rank for rank, (_, size) in enumerate(units) if total >= size)
        step = units[min(largest + parts - 1, len(units) - 1)][1]
        total = round(total / step) * step
    pieces = []
    for unit, size in units:
        amount, total = divmod(total, size)
        if amount:
            pieces.append((amount, unit))
    return pieces


def format_duration(seconds: float, *, parts: int | None = None) -> str:
    """`5400` -> `1h30m`; with `parts=1`, `5400` -> `2h` (rounded to its largest unit); `0` -> `0s`."""
    return "".join(f"{amount}{unit}" for amount, unit in _pieces(seconds, parts, UNITS)) or "0s"


def spoken_duration(seconds: float, *, parts: int = 1) -> str:
    """In words, for summaries: `432000` -> `5 days`; `5400` with parts=2 -> `1 hour 30 minutes`.

    Weeks are said as days ("expires in 14 days" reads better than "in 2 weeks" on a certificate).
    """
    pieces = _pieces(seconds, parts, UNITS[1:]) or [(0, "s")]
    return " ".join(f"{amount} {_WORDS[unit]}{'' if amount == 1 else 's'}" for amount, unit in pieces)


Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
"""Seconds in a settings or playbook model, written as a number or in the grammar above."""
