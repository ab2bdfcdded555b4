"""The alert stream as the read API lists it, held in memory: a view of the ALERTS stream, never a record of its
own. adapters/alert_follow.py fills it from an ordered consumer (every alert stored, oldest first, then each one
as it is stored) and asks it for pages; reads.py falls back to reading the stream whenever it cannot answer.

Why: a list read off the stream costs nats-py a Python-level parse of every message's ten headers on every
request (over half the time of a 10,000-alert answer); here each alert is parsed once, when it is stored,
and a page is a scan of a few lists and a join of the stored bytes.

What it holds per alert: the stream sequence, the stored time, the subject, the five headers the list filters
on, and the body in the current `Alert` shape (as stored when its `Healer-Schema` says so). It is bounded by
`capacity` (`api.alert_view_max`): past it, the oldest are let go, and pages that reach further back than the
view are read off the stream. It forgets what the stream no longer holds (`forget_before`), and it is rebuilt
from the stream on every start, so it can never say what the stream does not.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter

# the headers a list filters on (queries._HEADER_OF), in the order their values are kept
FILTERS = ("Healer-Status", "Healer-Severity", "Healer-Cluster", "Healer-Namespace", "Healer-Fingerprint")
SLACK = 16  # past capacity, let go of a sixteenth at once, so that a full view does not move its lists per alert


@dataclass(frozen=True)
class ViewQuery:
    """One newest-first page: at most `limit` alerts from sequence `hi` down to the stream's `first`."""

    limit: int
    first: int
    hi: int
    since: dt.datetime | None = None
    subject: str | None = None
    headers: Mapping[str, str] | None = None


class AlertView:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.last_seq = 0  # the newest sequence seen (kept or not): how far the view has read
        self.covers_from = 0  # every alert from here to last_seq is in the view (0: nothing read yet)
        self._seqs: list[int] = []
        self._times: list[float] = []
        self._subjects: list[str] = []
        self._filters: list[tuple[str, ...]] = []
        self._bodies: list[bytes] = []
        self._interned: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._seqs)

    def _intern(self, text: str) -> str:
        return self._interned.setdefault(text, text) if len(self._interned) < 10_000 else text

    def add(self, seq: int, time: dt.datetime, subject: str, headers: Mapping[str, str], body: bytes | None) -> None:
        """The next alert of the stream, in sequence order; `body` None: not an alert, nothing to list."""
        if seq <= self.last_seq:
            return
        if self.covers_from == 0:
            self.covers_from = seq
        self.last_seq = seq
        if body is None or self.capacity == 0:
            return
        self._seqs.append(seq)
        self._times.append(time.timestamp())
        self._subjects.append(self._intern(subject))
        few = tuple(self._intern(headers.get(name, "")) for name in FILTERS[:-1])  # a handful of values each
        self._filters.append((*few, headers.get(FILTERS[-1], "")))  # the fingerprint: one per alert
        self._bodies.append(body)
        if len(self._seqs) > self.capacity + self.capacity // SLACK:
            self._drop(len(self._seqs) - self.capacity)

    def forget_before(self, first_seq: int) -> None:
        """The stream no longer holds anything older than `first_seq` (its age limit, a purge)."""
        self._drop(bisect.bisect_left(self._seqs, first_seq))
        self.covers_from = max(self.covers_from, first_seq)

    def _drop(self, count: int) -> None:
        if count <= 0:
            return
        self.covers_from = max(self.covers_from, self._seqs[count - 1] + 1)
        for column in (self._seqs, self._times, self._subjects, self._filters, self._bodies):
            del column[:count]

    def newest_first(self, q: ViewQuery) -> tuple[list[bytes], int | None] | None:
        """The page and the cursor of the next (None: no more), as StreamPages.newest_first would answer it;
        None when the view cannot answer (it has not read up to `hi`, or the page reaches past what it holds,
        or a filter it does not keep)."""
        if self.capacity == 0 or self.covers_from == 0 or q.hi > self.last_seq or q.hi < self.covers_from:
            return None
        if any(name not in FILTERS for name in q.headers or {}):
            return None
        top = bisect.bisect_right(self._seqs, q.hi)
        floor = self._since(top, q.since)
        candidates = range(top - 1, floor - 1, -1)
        picked = list(
            islice(filter(self._test(q), candidates), q.limit) if self._filtered(q) else candidates[: q.limit]
        )
        found = [self._bodies[i] for i in picked]
        if len(found) == q.limit:
            return found, self._seqs[picked[-1]] if self._seqs[picked[-1]] > q.first else None
        if floor == 0 and self.covers_from > q.first:
            return None  # the rest of the page is older than the view: the stream answers
        return found, None

    def _since(self, top: int, since: dt.datetime | None) -> int:
        """Where a newest-first walk down from `top` stops: at the first alert stored before `since`."""
        if since is None:
            return 0
        at, times = since.timestamp(), self._times
        floor = top
        while floor > 0 and times[floor - 1] >= at:
            floor -= 1
        return floor

    @staticmethod
    def _filtered(q: ViewQuery) -> bool:
        return q.subject is not None or bool(q.headers)

    def _test(self, q: ViewQuery) -> Callable[[int], bool]:
        """Whether the alert at an index passes the query's subject and header filters."""
        wanted = [(FILTERS.index(name), value) for name, value in (q.headers or {}).items()]
        subjects, filters, subject = self._subjects, self._filters, q.subject
        if not wanted:
            return lambda i: subjects[i] == subject
        values = itemgetter(*(k for k, _ in wanted))
        expected = wanted[0][1] if len(wanted) == 1 else tuple(v for _, v in wanted)
        if subject is None:
            return lambda i: values(filters[i]) == expected
        return lambda i: subjects[i] == subject and values(filters[i]) == expected
