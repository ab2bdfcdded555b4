"""Where a log line's header ends and its message begins, for logs of any format, learnt per stream.

Most logs open every line with a header: time, host, process and thread ids, a level, a component. Its
values change from line to line (times, pids) or name the writer rather than the event (hosts, threads,
components), so templates are mined from the message alone. Nothing here knows a particular system: each
field of a line gets a role from pattern families, and the stream's header is the run of leading columns
whose role agrees in nearly every line, read by position:

- roles: `time` (ISO 8601, syslog, Apache/nginx, Java and compact dates, clock times, epochs, month and day
  names, time zones, bracketed or not), `level` (TRACE..FATAL in any case or bracket, logcat's single
  letters), `number` (pids, thread ids, counters), `id` (a word with digits: hosts, nodes, file names),
  `dash` (a lone separator), `group` (a bracketed group: thread, request, component), `end` (a field
  closing with a colon, or `]` without its `[`: `sshd[42]:`, `dfs.DataNode:`, `main.go:12]`) and `word`;
- the header is every leading column up to the last anchor (any role but `word`) before the first column
  whose roles disagree; an `end` column closes it at once. After a level it takes at most what follows a
  level in the common layouts: a group, an `end`, a dash, or a word followed by a group;
- a line whose own fields do not fit that layout (a stack trace's `at ...` line) keeps its whole text.

Fields split at whitespace and at `|`; a bracketed group is one field however many spaces it holds. The
layout is re-read from the first `SAMPLE` lines (earlier lines use what the lines so far say).
Pure; log_templates.py calls it.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass

SAMPLE = 200  # lines read before the layout is fixed: enough for a few dozen events' worth of shapes
AGREEMENT = 0.9  # share of lines whose field must have a column's role for the column to be header
FIT = 0.75  # share of its header columns a line must match to have its header removed
MAX_COLUMNS = 14  # headers longer than this are not headers (the longest common ones have about 10)
MIN_LINES = 1
MESSAGE_KEYS = ("msg", "message", "log", "text", "event", "body")  # where JSON loggers put the message
_LOGFMT_MESSAGE = re.compile(
    r'(?:^|\s)(?:msg|message)=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>\S*))(?=\s|$)(?P<rest>.*)$'
)
MAX_GAP = 3  # columns without an agreed role (hosts, labels, names) a header may hold between two anchors

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,:]\d{1,9})?"
_TIME = re.compile(
    "(?:"
    + "|".join(
        (
            r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[-T_ ]?\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[.,:]\d{1,9})?)?",  # dates
            r"\d{6,8}(?:[-T_]?\d{1,2}:?\d{2}:?\d{2}(?:[.,:]\d{1,9})?)?",  # compact dates, with their time
            _CLOCK,
            r"\d{1,2}[-/.]\d{1,2}",  # month and day: 03-17, 10.30
            r"\d{1,2}[-/]" + _MONTH + r"[-/]\d{2,4}(?::" + _CLOCK + ")?",  # 10/Oct/2000:13:55:36 (nginx)
            _MONTH,
            _WEEKDAY,
            r"(?:z|utc|gmt|[+-]\d{2}:?\d{2})",  # zones
            r"\d{9,10}(?:\.\d+)?|\d{12,13}",  # epochs, in seconds or milliseconds
            r"[a-z]\d{4}",  # glog / klog: the level letter glued to MMDD (I0102)
        )
    )
    + r")(?:z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_LEVEL = re.compile(
    r"(?:(?:level|lvl|severity)=)?(?:trace|debug|dbg|fine|finer|finest|info|information|notice|warn|warning"
    r"|error|err|severe|fatal|crit|critical|alert|emerg|emergency|panic|verbose)",
    re.IGNORECASE,
)
_LETTER_LEVEL = re.compile(r"[VDIWEFA]")  # logcat's levels: only ever a field of their own
_FIELD = re.compile(r"[([{<]|[^\s|]+")  # an opening bracket starts a group; else a run up to a space or pipe
_DASHES = frozenset({"-", "--", "---", "|", ":", "::", "*"})
_CLOSING = {"[": "]", "(": ")", "{": "}", "<": ">"}
_KIND = {"time": "value"}  # a column of times in some lines and counters in others is still a column
_WRAPPING = "[](){}<>,;"


@dataclass(frozen=True)
class Field:
    start: int
    end: int
    role: str


def _group_end(line: str, start: int) -> int:
    """The end of the bracketed group opening at `start`, nested brackets included; -1 if it never closes."""
    opening = line[start]
    closing, depth = _CLOSING[opening], 0
    for i in range(start, min(len(line), start + 300)):
        if line[i] == opening:
            depth += 1
        elif line[i] == closing:
            depth -= 1
            if depth == 0:
                return i + 1
    return -1


def fields(line: str, limit: int = MAX_COLUMNS + 4) -> list[Field]:
    """The first `limit` fields of a line with their roles."""
    found: list[Field] = []
    position = 0
    while len(found) < limit:
        match = _FIELD.search(line, position)
        if match is None:
            break
        start, end = match.span()
        if line[start] in _CLOSING:
            closed = _group_end(line, start)
            end = closed if closed > 0 else start + 1
            while end < len(line) and not line[end].isspace() and line[end] != "|":
                end += 1  # what is glued to the group (`]:`), or the rest of a bracket that never closes
        found.append(Field(start, end, role_of(line[start:end])))
        position = end
    return found


def role_of(text: str) -> str:
    """What a header field is, from its shape alone (see the module's docstring)."""
    if text in _DASHES:
        return "dash"
    if text[0] in _CLOSING and text.rstrip(":")[-1:] == _CLOSING[text[0]]:
        return _group_role(text)
    inner = text.strip(_WRAPPING)
    if _LEVEL.fullmatch(inner.rstrip(":")) or _LETTER_LEVEL.fullmatch(text):
        return "level"
    if inner and _is_time(inner):
        return "time"
    if (text.endswith(":") and len(text) > 1) or (text.endswith("]") and "[" not in text):
        return "end"
    return "value" if any(c.isdigit() for c in text) else "word"  # a value: a number, an id, a host, a file


def _group_role(text: str) -> str:
    """A bracketed field: a level or a time in brackets, else a group (a thread, a request, a component)."""
    inner = text.rstrip(":")[1:-1].strip()
    if _LEVEL.fullmatch(inner):
        return "level"
    if inner and _is_time(inner):
        return "time"
    return "end" if text.endswith(":") else "group"


def _is_time(text: str) -> bool:
    parts = text.split()
    several = 1 < len(parts) <= 6  # a bracketed date: its day and year are plain numbers
    return bool(parts) and all(_TIME.fullmatch(p.strip(",")) or (several and p.isdigit()) for p in parts)


@dataclass(frozen=True)
class HeaderLayout:
    """The roles of a stream's header columns, in order; empty when its lines have no header."""

    roles: tuple[str, ...] = ()

    def message(self, line: str) -> str:
        """The line past its header, or the whole line when its fields do not fit the layout."""
        if not self.roles:
            return line
        found = fields(line, len(self.roles) + 4)
        cut = self._cut(found)
        return line if cut is None else line[cut:].lstrip(" \t|:,")

    def _cut(self, found: list[Field]) -> int | None:
        count = len(self.roles)
        last = self.roles[-1]
        if last in ("end", "dash"):  # a closing field may come a column early or late (a host left out,
            # a program name with spaces): the header ends at the nearest one
            for i in sorted(range(max(0, count - 2), min(len(found), count + 3)), key=lambda i: abs(i - count + 1)):
                if found[i].role == last and self._fits(found[: min(i, count - 1)]):
                    return found[i].end
        if len(found) < count or not self._fits(found[:count]):
            return None
        return found[count - 1].end

    def _fits(self, head: list[Field]) -> bool:
        agree = sum(
            1 for f, role in zip(head, self.roles, strict=False) if _KIND.get(f.role, f.role) == role or role == "word"
        )
        return agree >= FIT * len(head)


def learn_layout(lines: list[str]) -> HeaderLayout:
    """The header layout that the lines agree on (see the module's docstring)."""
    if len(lines) < MIN_LINES:
        return HeaderLayout()
    rows = [[f.role for f in fields(line)] for line in lines]
    roles: list[str] = []
    cut = gaps = 0
    for column in range(MAX_COLUMNS):
        role = _agreed(rows, column)
        if sum(len(row) > column + 1 for row in rows) < AGREEMENT * len(rows):
            break  # a header is followed by a message
        if role == "level":
            return _with_time_or_level(rows, (*roles, "level", *_after_level(rows, column + 1)))
        if role in ("end", "dash") and cut and not _level_soon(rows, column + 1):
            return _with_time_or_level(rows, (*roles, role))
        if role is None or role == "word":
            gaps += 1
            if gaps > MAX_GAP:
                break
            roles.append("word")
            continue
        roles.append(role)
        cut, gaps = column + 1, 0
    return _with_time_or_level(rows, tuple(roles[:cut]))


def _with_time_or_level(rows: list[list[str]], roles: tuple[str, ...]) -> HeaderLayout:
    """The layout, if it holds a time or a level: every header the module knows does, and without one a run of
    words and numbers is as likely the start of a message (`Fetched 12 rows ...`)."""
    for column in range(len(roles)):
        times = sum(1 for row in rows if len(row) > column and row[column] == "time")
        if roles[column] == "level" or 2 * times > len(rows):
            return HeaderLayout(roles)
    return HeaderLayout()


def _agreed(rows: list[list[str]], column: int) -> str | None:
    """The role nearly every line has in this column, if any (times count as values)."""
    counts = Counter(_KIND.get(row[column], row[column]) if column < len(row) else "" for row in rows)
    role, count = counts.most_common(1)[0]
    return role if role and count >= AGREEMENT * len(rows) else None


def _after_level(rows: list[list[str]], column: int) -> tuple[str, ...]:
    """What follows a level in the header: agreed columns up to the last separator (an `end`, a dash or a
    group), with at most one word between two of them (a logger's name); nothing when no separator comes."""
    roles: list[str] = []
    cut = 0
    for c in range(column, column + MAX_COLUMNS):
        role = _agreed(rows, c)
        if role is None or (role == "word" and roles[-1:] == ["word"]):
            break
        roles.append(role)
        if role in ("end", "dash", "group"):
            cut = len(roles)
        if role == "end":
            break
    return tuple(roles[:cut])


def _level_soon(rows: list[list[str]], column: int) -> bool:
    return any(_agreed(rows, c) == "level" for c in range(column, column + MAX_GAP + 2))


class HeaderReader:
    """A stream's header: learnt from its first `SAMPLE` lines, then fixed.

    `learn` says when the layout changed, so that the caller can re-read the lines it has seen: a message
    cut one way in the first lines and another way later would split one event into two templates."""

    def __init__(self) -> None:
        self.sample: list[str] = []
        self.layout = HeaderLayout()

    def learn(self, line: str) -> bool:
        """Take a line into the sample (while it is open); True when the layout changed."""
        if len(self.sample) >= SAMPLE:
            return False
        self.sample.append(line)
        count = len(self.sample)
        if count < MIN_LINES or (count > 16 and count & (count - 1) and count != SAMPLE):
            return False  # re-read at every line at first, then at 32, 64, 128 and the last
        layout = learn_layout(self.sample)
        changed, self.layout = layout != self.layout, layout
        return changed

    def message(self, line: str) -> str:
        """The line's message: a JSON record's message field, a logfmt line's `msg=` and what follows it, or
        the line past its header."""
        if line.startswith("{"):
            found = json_message(line)
            if found is not None:
                return found
        logfmt = _LOGFMT_MESSAGE.search(line)
        if logfmt is not None:
            return (logfmt.group("quoted") or logfmt.group("bare") or "") + logfmt.group("rest")
        return self.layout.message(line)


def json_message(line: str) -> str | None:
    """The message of a JSON log record (its `msg`, `message`, `log` ... field); None if the line is none."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    for key in MESSAGE_KEYS:
        if isinstance(record.get(key), str):
            return str(record[key])
    return " ".join(f"{k}=<*>" for k in record)  # no message field: the record's keys are its shape
