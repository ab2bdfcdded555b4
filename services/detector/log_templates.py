"""Log lines into templates, online: `LogTemplates.add(line)` returns the line's template id and text.

Three steps, each general (nothing here knows a particular system):

1. Header: most logs open with a header (time, host, process, level, component) before the message. The
   first lines of a stream choose, by majority, one of a few common header shapes (syslog, ISO or log4j
   time + level + component, bracketed time + program, numeric fields + level + component); the header is
   stripped from every line of the stream. Lines no shape fits are mined whole.
2. Masks: values that are never part of an event's identity become `<*>` before mining: IP addresses and
   ports, hex numbers, UUIDs, paths, numbers, and numeric runs inside identifiers (`blk_-123`, `node-246`).
3. Drain (Drain3's streaming fixed-depth tree): a masked message joins the most similar template of its
   length and first tokens, or starts a new one; templates generalise as they absorb lines. Two changes to
   Drain's similarity: a masked value facing a template's wildcard counts half a match (Drain counts it
   as none, so heavily masked lines never rejoin their template), and a short message may differ from its
   template in one word whatever the threshold (`Invalid user admin` / `Invalid user guest`).

Pure; used by log_signatures.py (the service) and `healer detect log-templates`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from drain3.drain import Drain
from drain3.template_miner import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

LEVELS = r"(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRITICAL|Info|Warning|Error|Debug)"
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DATE = r"(?:\d{2,4}[-/.]\d{1,2}[-/.]\d{1,4}|\d{6,8})"
_TIME = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
# Header shapes, most specific first; each captures the message as `msg`.
HEADERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("syslog", rf"^{MONTH}\s+\d{{1,2}}\s+{_TIME}\s+\S+\s+[^\s:\[]+(?:\[\d+\])?:\s?(?P<msg>.*)$"),
        ("time-level-component", rf"^{_DATE}[ T]?{_TIME},?\s+{LEVELS}\s+(?:\[[^\]]*\]\s+)?[\w.$-]+:\s(?P<msg>.*)$"),
        ("time-level-source", rf"^{_DATE}\s+{_TIME},?\s+{LEVELS}\s+(?:[\w.$-]+(?::\s|\s{{2,}}))?(?P<msg>.*)$"),
        ("numbers-level-component", rf"^(?:\d+\s+){{2,4}}{LEVELS}\s+[\w.$-]+:\s(?P<msg>.*)$"),
        ("bracket-time-program", r"^\[[\d.:\s/-]+\]\s+.+?\s+-\s+(?P<msg>.*)$"),
        ("fields-level", rf"^(?:\S+\s+){{3,12}}?{LEVELS}\s+(?P<msg>.*)$"),
    )
)
HEADER_SAMPLE = 200
HEADER_COLUMNS = 8
SHORT_FROM = 4  # fewer words than this and every word counts
_NUMBER = re.compile(r"[-+]?\d+(?:[.:,-]\d+)*")
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
MASKS: tuple[tuple[str, str], ...] = (
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b", "<*>"),  # a hex word: address, hash
    (r"<\d+(?:\.\d+)?\s?(?:ms|sec|s|min)\b", "<*>"),  # "<1 sec": a duration too short to say
    (rf"\b{_DAY}\s+{MONTH}\s+\d{{1,2}}\s+{_TIME}(?:\s+\d{{4}})?", "<*>"),  # a date written out
    (r"(?<![\w.])[\w.-]+\.[A-Za-z]{2,}:\d+\b", "<*>"),  # host:port
    (r"\((?:[^()\s]*)\)", "(<*>)"),  # a parenthesised single value, or nothing
    (r"\s*\(\d+(?:\.\d+)?\s?[KMGT]?i?B\)", ""),  # a size repeated for humans: "(1.2 KB)"
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<*>"),
    (r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\w.])", "<*>"),
    (r"\b0[xX][0-9a-fA-F]+\b", "<*>"),
    (r"(?<![\w<])(?:/[\w.@~+-]+){2,}/?", "<*>"),
    (r"(?<![A-Za-z*])[-+]?\d+(?:[.,:]\d+)*(?![A-Za-z>])", "<*>"),
    (r"(?<=[_-])-?\d+\b", "<*>"),
)
_MASKS = tuple((re.compile(p), r) for p, r in MASKS)


@dataclass(frozen=True)
class Template:
    template_id: int
    text: str
    new: bool


def mask(message: str) -> str:
    for pattern, replacement in _MASKS:
        message = pattern.sub(replacement, message)
    return message


class HeaderShape:
    """The header shape of one stream, chosen from its first lines by majority.

    When no named shape fits most lines, leading columns that are numbers in nearly every line (ids,
    counters, epochs: `134681 node-246 unix.hw state_change 1077804742 1 ...`) are taken as the header, up
    to the last such column among the first few.
    """

    def __init__(self) -> None:
        self._seen: Counter[str] = Counter()
        self._numeric: Counter[int] = Counter()
        self._lines = 0
        self.chosen: re.Pattern[str] | None = None
        self.decided = False

    def message(self, line: str) -> str:
        pattern = self.chosen if self.decided else self._learn(line)
        found = pattern.match(line) if pattern else None
        return found.group("msg") if found else line

    def _learn(self, line: str) -> re.Pattern[str] | None:
        self._lines += 1
        for name, shape in HEADERS:
            if shape.match(line):
                self._seen[name] += 1
                break
        for position, token in enumerate(line.split()[:HEADER_COLUMNS]):
            if _NUMBER.fullmatch(token):
                self._numeric[position] += 1
        pattern = self._leader()
        if self._lines >= HEADER_SAMPLE:
            self.chosen, self.decided = pattern, True
        return pattern

    def _leader(self) -> re.Pattern[str] | None:
        if self._seen:
            name, count = self._seen.most_common(1)[0]
            if count * 2 > self._lines:
                return next(p for n, p in HEADERS if n == name)
        columns = [p for p in range(HEADER_COLUMNS) if self._numeric[p] >= 0.95 * self._lines]
        if self._lines < 10 or not columns:
            return None
        return _columns(max(columns) + 1)


def _columns(count: int) -> re.Pattern[str]:
    return re.compile(rf"^(?:\S+\s+){{{count}}}(?P<msg>.*)$")


class _Drain(Drain):  # type: ignore[misc] # drain3 is untyped
    """Drain, counting a masked value against a template's wildcard as a match.

    Drain scores similarity by the tokens equal to the template's and skips the template's wildcards, so a
    message whose values were all masked can never reach the threshold against its own template: with heavy
    masking every such line would start a template of its own.
    """

    def fast_match(self, cluster_ids: Any, tokens: list[str], sim_th: float, include_params: bool) -> Any:
        """A short message may differ from its template in one word; a long one in its share of words."""
        threshold = min(sim_th, 1 - 1.5 / len(tokens)) if len(tokens) >= SHORT_FROM else sim_th
        return super().fast_match(cluster_ids, tokens, threshold, include_params)

    def get_seq_distance(self, seq1: list[str], seq2: list[str], include_params: bool) -> tuple[float, int]:
        similarity, params = super().get_seq_distance(seq1, seq2, include_params)
        if include_params or not seq1:
            return similarity, params
        masked = sum(1 for a, b in zip(seq1, seq2, strict=True) if a == b == self.param_str)
        return similarity + 0.5 * masked / len(seq1), params


class LogTemplates:
    def __init__(self, similarity: float = 0.75, depth: int = 4) -> None:
        config = TemplateMinerConfig()
        config.drain_sim_th = similarity
        config.drain_depth = depth
        config.parametrize_numeric_tokens = True
        config.drain_extra_delimiters = ["="]
        config.mask_prefix, config.mask_suffix = "<", ">"
        self._miner = TemplateMiner(config=config)
        self._miner.drain = _Drain(
            sim_th=similarity, depth=depth, extra_delimiters=config.drain_extra_delimiters, param_str="<*>"
        )
        self._header = HeaderShape()

    def add(self, line: str) -> Template:
        message = mask(self._header.message(line.rstrip("\r\n")).strip())
        result = self._miner.add_log_message(message or "<empty>")
        new = result["change_type"] == "cluster_created"
        return Template(int(result["cluster_id"]), str(result["template_mined"]), new)
