"""What the sandbox understands of a PromQL query, short of a PromQL engine.

Every query of the collector's default pack begins with a comment line naming the signal it measures
(`# healer:pvc_usage_ratio`, a name from `healer_common.contract.signals.METRICS`), so the sandbox answers it with its
simulated series of that signal whatever the PromQL below says. A bare selector (`queue_depth{queue="builds"}`)
of a simulated series is answered too, with its label matchers applied. Anything else gets an empty result,
as a Prometheus without those series would give.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from healer_common.contract.matchers import Matcher

_HEALER_LINE = re.compile(r"^\s*#\s*healer:\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*$")
_SELECTOR = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.S)
_MATCHER = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class QueryError(ValueError):
    """A query Prometheus would refuse (bad_data)."""


@dataclass(frozen=True)
class Wanted:
    """The series a query asks for: a name, and matchers on labels (none for a `# healer:` query)."""

    name: str
    matchers: tuple[Matcher, ...] = field(default=())
    bare: bool = False  # a plain selector: results carry __name__, as Prometheus returns them

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels) for m in self.matchers)


def parse_matchers(text: str) -> tuple[Matcher, ...]:
    found, position = [], 0
    while position < len(text.strip()):
        match = _MATCHER.match(text, position)
        if not match:
            raise QueryError(f"bad label matcher at {text[position:]!r}")
        label, op, raw = match.groups()
        value = raw.encode().decode("unicode_escape")
        if op in {"=~", "!~"}:
            try:
                re.compile(value)
            except re.error as exc:
                raise QueryError(f"bad regular expression {value!r}: {exc}") from None
        found.append(Matcher(name=label, op=op, value=value))
        position = match.end()
    return tuple(found)


def parse(query: str) -> Wanted | None:
    """The series a query wants, or None when the sandbox has nothing to say about it."""
    if not query.strip():
        raise QueryError("empty query")
    first, *_ = query.strip().splitlines()
    if match := _HEALER_LINE.match(first):
        return Wanted(match.group(1))
    if match := _SELECTOR.match(query):
        return Wanted(match.group(1), parse_matchers(match.group(2) or ""), bare=True)
    return None
