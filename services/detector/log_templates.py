"""Log lines into templates, online: `LogTemplates.add(line)` returns the line's template id and text.

Five steps, each general (nothing here knows a particular system or format):

1. Header (log_header.py): the stream's header layout is learnt from its first lines by the roles of their
   fields (times, levels, ids, components) and removed; JSON records give their message field. While the
   layout is still being learnt and changes, the lines seen so far are mined again under the new one (their
   ids kept), so that one event is not split between the header it first seemed to have and the real one.
2. Masks: values that are never part of an event's identity become `<*>` before mining: IP addresses and
   ports, host names with a number in them, hex numbers, UUIDs, paths, URLs, numbers with their units, and
   numeric runs inside identifiers (`blk_-123`, `node-246`, `attempt_<*>_m_<*>` is one value).
3. Drain (Drain3's streaming fixed-depth tree): a masked message joins the most similar template of its
   length and first tokens, or starts a new one; templates generalise as they absorb lines. Three changes
   to Drain's similarity: a masked value facing a template's wildcard counts half a match (Drain counts it
   as none, so heavily masked lines never rejoin their template); a short message may differ from its
   template in one value whatever the threshold; and two different words (neither masked) never match:
   `state Active` / `state Inactive`, `by client SPP` / `by client WindowsUpdateAgent` are two events far
   more often than one value, whatever share of the line they are.
4. Second pass: a new template that differs from an older one of the same length only where either holds a
   masked value is the older one (Drain's tree sends `<*> connected` and `peer connected` down different
   branches, so it never compares them); it takes the older template's id.
5. Words that are values: templates equal but for the word in one position join once that position has
   taken `variable_after` different words among them (`user root`, `user guest`, `user test`, ...: a user
   name, a job, a host; a masked value there counts as one more word), the oldest id standing for all.
   Before then their lines went out under their own ids, which `resolve` maps to the joined one for a
   reader that can relabel (`healer detect log-templates` does, at the end of the file).

Pure; used by log_signatures.py (the service) and `healer detect log-templates`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drain3.drain import Drain, LogCluster

from services.detector.log_header import HeaderReader

WILDCARD = "<*>"
SHORT_FROM = 4  # fewer words than this and every word counts
VARIABLE_AFTER = 4  # distinct words in one position of otherwise equal templates that make it a value
MIN_WORDS = 2  # words besides the variable one that otherwise equal templates must share to be joined
MAX_TEMPLATES = 5_000  # per stream; the least recently seen are forgotten beyond this (memory stays bounded)
MAX_POSITIONS = 20 * MAX_TEMPLATES  # word positions filed for joining, the oldest forgotten beyond this
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?"
_BETWEEN = r"\-_/:.=,@#*()\[\]<>{}'\"|;+"  # what separates the parts of an id: blk_<*>, node-<*>
_WILD = r"<\*>"
_PART = rf"[^\s{_BETWEEN}]"  # a character of one part of an id
# A part with a digit that is all hex (5+), or letters and digits alternating with digits at least every
# other character (R02, I0317, x86), or that starts with a digit; names with a digit (ssh2, eth0, IO80211)
# stay words. A sign is the value's when it follows punctuation (blk_-42), a separator when after a letter.
_ID = (
    rf"(?:(?<=[^A-Za-z0-9])[-+])?(?<!{_PART})(?={_PART}*\d)"
    rf"(?:[0-9a-fA-F]{{5,}}|(?:[A-Za-z]?\d)+[A-Za-z]?|\d{_PART}*)(?!{_PART})"
)
_UNIT = (
    r"(?:[KMGTP]i?B|B|[mun\u00b5]s)"  # sizes and short durations, which loggers write in the unit that suits the value
)
MASKS: tuple[tuple[str, str], ...] = (
    (r"\b[a-zA-Z][\w+.-]*://\S+", WILDCARD),  # a URL
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", WILDCARD),  # a UUID
    (rf"\b{_DAY}\s+{_MONTH}\s+\d{{1,2}}\s+{_TIME}(?:\s+\d{{4}})?", WILDCARD),  # a date written out
    (r"<\d+(?:\.\d+)?\s?(?:ms|sec|s|min)\b", WILDCARD),  # "<1 sec": a duration too short to say
    (r"\s*\(\d+(?:\.\d+)?\s?[KMGT]?i?B\)", ""),  # a size repeated for humans: "(1.2 KB)"
    (rf"(?<![\w.])\d+(?:\.\d+)?\s?{_UNIT}(?!\w)", WILDCARD),  # a quantity, whose unit varies with its size
    (r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\w.])", WILDCARD),  # an IPv4 address, and port
    (r"(?<![\w.])[\w.-]+\.[A-Za-z]{2,}:\d+\b", WILDCARD),  # host:port
    (r"(?<![\w.-])(?=[\w.-]*\d)(?:[\w-]+\.)+[a-z]{2,6}(?![\w.-])", WILDCARD),  # a host name with a number
    (r"(?<![\w<])(?:/[\w.@~+-]+){2,}/?", WILDCARD),  # a path
    (r"\b0[xX][0-9a-fA-F]+\b", WILDCARD),  # a hex number
    (r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b", WILDCARD),  # a hex word: address, hash
    (r"\((?:[^()\s]*)\)", f"({WILDCARD})"),  # a parenthesised single value, or nothing
    (_ID, WILDCARD),  # a number, or an id: a word mostly of digits, or of hex with some (`node-<*>`, `blk_<*>`)
    (rf"{_WILD}(?:[{_BETWEEN}]{{1,2}}{_WILD})+", WILDCARD),  # values joined by punctuation are one value
    (rf"{_WILD}(?:[{_BETWEEN}][A-Za-z]{{1,2}}[{_BETWEEN}]{_WILD})+", WILDCARD),  # and by a letter or two (`_m_`)
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


class _Drain(Drain):  # type: ignore[misc] # drain3 is untyped
    """Drain, counting a masked value against a template's wildcard as a match, and two words as two events.

    Drain scores similarity by the tokens equal to the template's and skips the template's wildcards, so a
    message whose values were all masked can never reach the threshold against its own template: with heavy
    masking every such line would start a template of its own. Words that differ are left to step 5.
    """

    def fast_match(self, cluster_ids: Any, tokens: list[str], sim_th: float, include_params: bool) -> Any:
        """A short message may differ from its template in one word; a long one in its share of words."""
        threshold = min(sim_th, 1 - 1.5 / len(tokens)) if len(tokens) >= SHORT_FROM else sim_th
        return super().fast_match(cluster_ids, tokens, threshold, include_params)

    def get_seq_distance(self, seq1: list[str], seq2: list[str], include_params: bool) -> tuple[float, int]:
        similarity, params = super().get_seq_distance(seq1, seq2, include_params)
        if include_params or not seq1:
            return similarity, params
        if any(a != b and self.param_str not in a and self.param_str not in b for a, b in zip(seq1, seq2, strict=True)):
            return -1.0, params  # two different words: two events, until the position shows itself variable
        masked = sum(1 for a, b in zip(seq1, seq2, strict=True) if a == b == self.param_str)
        return similarity + 0.5 * masked / len(seq1), params


def _same_but_values(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Two templates of one length that differ only where either holds a masked value, in at most a third of
    their words (two templates of wildcards alone say nothing about each other)."""
    differing = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return 3 * len(differing) <= len(a) and all(
        WILDCARD in (x, y) and any(c.isdigit() for c in x + y) for x, y in differing
    )


class _WordPositions:
    """Templates that differ in one word only, joined once that word has taken `variable_after` values.

    The miner keeps two words apart (`state Active` / `state Inactive`, `client SPP` / `client WindowsUpdate`
    are two events more often than one), but a position that keeps taking new words among otherwise equal
    templates holds a value (a user name, a job name): its templates become one, the oldest id standing for
    all. A union-find over template ids; each template is filed under each of its word positions."""

    def __init__(self, variable_after: int) -> None:
        self._after = variable_after
        self._seen: dict[tuple[int, tuple[str, ...]], dict[str, int]] = {}  # (position, the rest) -> word -> id
        self._parent: dict[int, int] = {}
        self._wild: dict[int, set[int]] = {}  # root id -> its variable positions

    def root(self, template_id: int) -> int:
        while (parent := self._parent.get(template_id, template_id)) != template_id:
            self._parent[template_id] = self._parent.get(parent, parent)
            template_id = parent
        return template_id

    def text(self, template_id: int, tokens: tuple[str, ...]) -> str:
        wild = self._wild.get(template_id, set())
        return " ".join(WILDCARD if i in wild else t for i, t in enumerate(tokens))

    def add(self, tokens: tuple[str, ...], template_id: int) -> None:
        shape = tokens
        if sum(WILDCARD not in t for t in shape) < MIN_WORDS + 1:
            return  # templates of a word or two besides their values say nothing about each other
        for i, word in enumerate(shape):
            words = self._seen.setdefault((i, shape[:i] + shape[i + 1 :]), {})
            words.setdefault(word, template_id)
            if len(self._seen) > MAX_POSITIONS:
                del self._seen[next(iter(self._seen))]  # the oldest position filed: memory stays bounded
            if len(words) >= self._after:
                self._join(sorted({self.root(t) for t in words.values()}), i)

    def _join(self, roots: list[int], position: int) -> None:
        oldest = roots[0]
        wild = self._wild.setdefault(oldest, set())
        wild.add(position)
        for other in roots[1:]:
            self._parent[other] = oldest
            wild |= self._wild.pop(other, set())


class LogTemplates:
    def __init__(self, similarity: float = 0.75, depth: int = 4, variable_after: int = VARIABLE_AFTER) -> None:
        self._similarity, self._depth, self._variable_after = similarity, depth, variable_after
        self._header = HeaderReader()
        self._drain = self._new_drain()
        self._ids: dict[int, int] = {}  # Drain's cluster id -> the template id given out
        self._given: list[int] = []  # the template id given to each line of the header sample
        self._last_id = 0
        self._words = _WordPositions(variable_after)

    def _new_drain(self) -> _Drain:
        return _Drain(
            sim_th=self._similarity,
            depth=self._depth,
            extra_delimiters=["="],
            param_str=WILDCARD,
            max_clusters=MAX_TEMPLATES,
        )

    def add(self, line: str) -> Template:
        line = line.rstrip("\r\n")
        if self._header.learn(line):
            self._mine_again(self._header.sample[:-1])
        cluster, created = self._mine(line)
        template_id = self._id_of(cluster, created)
        if len(self._given) < len(self._header.sample):
            self._given.append(template_id)
        template_id = self._words.root(template_id)
        return Template(template_id, self._words.text(template_id, cluster.log_template_tokens), created)

    def resolve(self, template_id: int) -> int:
        """The id a template given out earlier goes by now: templates that differ only in one word join once that
        word has shown itself variable, so lines given their separate ids before then belong to the joined one
        (a batch reader, `healer detect log-templates`, relabels its lines with this at the end)."""
        return self._words.root(template_id)

    def _mine(self, line: str) -> tuple[LogCluster, bool]:
        message = mask(self._header.message(line).strip())
        cluster, change = self._drain.add_log_message(message or "<empty>")
        return cluster, change == "cluster_created"

    def _id_of(self, cluster: LogCluster, created: bool) -> int:
        """The template id of a Drain cluster: an older one's when it differs from it only in values."""
        known = self._ids.get(cluster.cluster_id)
        if known is not None:
            return known
        template_id = self._older(cluster.log_template_tokens) if created else None
        if template_id is None:
            self._last_id += 1
            template_id = self._last_id
        self._ids[cluster.cluster_id] = template_id
        self._words.add(cluster.log_template_tokens, template_id)
        return template_id

    def _older(self, tokens: tuple[str, ...]) -> int | None:
        for other in self._drain.clusters:
            known = self._ids.get(other.cluster_id)
            same_length = len(other.log_template_tokens) == len(tokens)
            if known is not None and same_length and _same_but_values(other.log_template_tokens, tokens):
                return known
        return None

    def _mine_again(self, lines: list[str]) -> None:
        """Mine the sample's lines afresh under a new header layout, each new template keeping the id its
        first line was given (or a new one, if that id already went to another template)."""
        self._drain = self._new_drain()
        self._ids = {}
        taken: set[int] = set()
        for line, given in zip(lines, self._given, strict=True):
            cluster, _ = self._mine(line)
            if cluster.cluster_id not in self._ids:
                if given in taken:
                    self._last_id += 1
                template_id = self._last_id if given in taken else given
                self._ids[cluster.cluster_id] = template_id
                self._words.add(cluster.log_template_tokens, template_id)
                taken.add(template_id)
