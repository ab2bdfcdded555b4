"""The sandbox's simulated logs and the part of LogQL a collector uses to read them.

Lines are kept in arrival order for a bounded number of lines (the oldest go first) with their stream
labels (`namespace`, `pod`, `container`, `app`, `job`, `node_name`, `level`). Queries are LogQL log queries:
a stream selector (`{namespace="cto", app=~"gate.*"}`), line filters (`|=`, `!=`, `|~`, `!~`), parser
stages that the sandbox's plain lines need not (`| json`, `| logfmt`, ignored) and label filters
(`| level="error"`); and the metric queries built on them: `count_over_time(...[5m])`, `rate(...[5m])`,
optionally inside `sum(...)` or `sum by (labels) (...)`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from healer_common.contract.matchers import Matcher
from healer_common.durations import parse_duration
from healer_sandbox.promql import QueryError, parse_matchers

_LINE_FILTER = re.compile(r'\s*(\|=|!=|\|~|!~)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)')
_PARSER = re.compile(r"\s*\|\s*(json|logfmt|unpack)\b")
_LABEL_FILTER = re.compile(r'\s*\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|==|=)\s*("(?:[^"\\]|\\.)*"|`[^`]*`)')
_RANGE_FUNCTION = re.compile(r"^(count_over_time|rate)\s*\((.*)\[\s*([0-9a-z.]+)\s*\]\s*\)$", re.S)
_SUM = re.compile(r"^sum\s*(?:by\s*\(([^)]*)\))?\s*\((.*)\)\s*(?:by\s*\(([^)]*)\))?$", re.S)


@dataclass(frozen=True)
class LogLine:
    ns: int  # Unix nanoseconds
    labels: Mapping[str, str]
    line: str


@dataclass(frozen=True)
class LogQuery:
    """A parsed log query: which streams, and which of their lines."""

    selector: tuple[Matcher, ...]
    line_filters: tuple[tuple[str, str], ...] = ()
    label_filters: tuple[Matcher, ...] = ()

    def keeps(self, entry: LogLine) -> bool:
        if not all(m.matches(entry.labels) for m in self.selector):
            return False
        for op, text in self.line_filters:
            if op == "|=" and text not in entry.line:
                return False
            if op == "!=" and text in entry.line:
                return False
            if op in {"|~", "!~"} and (re.search(text, entry.line) is not None) != (op == "|~"):
                return False
        return all(m.matches(entry.labels) for m in self.label_filters)


@dataclass(frozen=True)
class MetricQuery:
    """`count_over_time` or `rate` of a log query over a range, maybe summed (by some labels)."""

    function: str
    logs: LogQuery
    range_s: float
    sum_by: tuple[str, ...] | None = field(default=None)


def _string(token: str) -> str:
    return token[1:-1] if token.startswith("`") else token[1:-1].encode().decode("unicode_escape")


def _selector_end(text: str) -> int:
    """The index just past the `}` closing the stream selector (braces inside strings don't count)."""
    quoted = None
    for index, char in enumerate(text):
        if quoted:
            quoted = None if char == quoted and text[index - 1] != "\\" else quoted
        elif char in '"`':
            quoted = char
        elif char == "}":
            return index + 1
    raise QueryError("parse error: the stream selector has no closing }")


def parse_log_query(text: str) -> LogQuery:
    text = text.strip()
    if not text.startswith("{"):
        raise QueryError(f"parse error: a log query starts with a stream selector {{...}}, got {text[:30]!r}")
    end = _selector_end(text)
    selector = parse_matchers(text[1 : end - 1])
    if not selector:
        raise QueryError("parse error: queries require at least one label matcher")
    lines: list[tuple[str, str]] = []
    labels: list[Matcher] = []
    rest = text[end:]
    while rest.strip():
        if match := _LINE_FILTER.match(rest):
            lines.append((match.group(1), _string(match.group(2))))
        elif match := _PARSER.match(rest):
            pass
        elif match := _LABEL_FILTER.match(rest):
            op = "=" if match.group(2) == "==" else match.group(2)
            labels.append(Matcher(name=match.group(1), op=op, value=_string(match.group(3))))
        else:
            raise QueryError(f"parse error: unsupported stage {rest.strip()[:40]!r}")
        rest = rest[match.end() :]
    return LogQuery(tuple(selector), tuple(lines), tuple(labels))


def parse(text: str) -> LogQuery | MetricQuery:
    """A LogQL query the sandbox can answer, or QueryError saying what it does not understand."""
    text = text.strip()
    sum_by: tuple[str, ...] | None = None
    if match := _SUM.match(text):
        groups = match.group(1) or match.group(3) or ""
        sum_by = tuple(g.strip() for g in groups.split(",") if g.strip())
        text = match.group(2).strip()
    if match := _RANGE_FUNCTION.match(text):
        try:
            range_s = parse_duration(match.group(3))
        except ValueError as exc:
            raise QueryError(f"parse error: {exc}") from None
        return MetricQuery(match.group(1), parse_log_query(match.group(2)), range_s, sum_by)
    if sum_by is not None:
        raise QueryError("parse error: sum() takes count_over_time(...) or rate(...)")
    return parse_log_query(text)


class LogStore:
    def __init__(self, capacity: int) -> None:
        self._lines: deque[LogLine] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._lines)

    def add(self, ns: int, labels: Mapping[str, str], line: str) -> None:
        self._lines.append(LogLine(ns, labels, line))

    def select(self, query: LogQuery, start_ns: int, end_ns: int) -> list[LogLine]:
        """The lines of `query` with start <= time < end, oldest first."""
        return [e for e in self._lines if start_ns <= e.ns < end_ns and query.keeps(e)]

    def pod_lines(self, namespace: str, pod: str, container: str | None, tail: int | None) -> list[str]:
        """What `kubectl logs` shows for a pod (its container, if given), the last `tail` lines."""
        lines = [
            e.line
            for e in self._lines
            if e.labels.get("namespace") == namespace
            and e.labels.get("pod") == pod
            and (container is None or e.labels.get("container") == container)
        ]
        return lines[-tail:] if tail else lines
