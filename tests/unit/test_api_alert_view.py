"""The read API's alert view as a list sees it: the same page and cursor as a newest-first read of the stream
(filters, subject, since, cursors), nothing it does not hold answered, and its size bounded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from services.api.alert_view import FILTERS, AlertView, ViewQuery
from services.api.queries import ALERT_PARAMS, read_query
from tests.support.samples import T0

SUBJECTS = ("healer.alerts.H4", "healer.alerts.H8")


@dataclass(frozen=True)
class Entry:
    seq: int
    time: dt.datetime
    subject: str
    headers: dict[str, str]

    @property
    def body(self) -> bytes:
        return f'{{"seq":{self.seq}}}'.encode()


def entries(gaps: list[tuple[int, int, int, int]]) -> list[Entry]:
    """One entry per (sequence gap, seconds later, subject, severity), in stream order."""
    made, seq, time = [], 0, T0
    for gap, later, subject, severity in gaps:
        seq, time = seq + gap, time + dt.timedelta(seconds=later)
        headers = {"Healer-Status": "firing", "Healer-Severity": ("warning", "critical")[severity]}
        made.append(Entry(seq, time, SUBJECTS[subject], headers))
    return made


def filled(found: list[Entry], capacity: int = 1_000) -> AlertView:
    view = AlertView(capacity)
    for e in found:
        view.add(e.seq, e.time, e.subject, e.headers, e.body)
    return view


def read_off_the_stream(found: list[Entry], q: ViewQuery) -> tuple[list[bytes], int | None]:
    """What StreamPages.newest_first answers, message by message."""
    kept: list[bytes] = []
    for e in reversed([e for e in found if q.first <= e.seq <= q.hi]):
        if q.since is not None and e.time < q.since:
            return kept, None
        wanted = q.subject is None or e.subject == q.subject
        if wanted and all(e.headers.get(k) == v for k, v in (q.headers or {}).items()):
            kept.append(e.body)
            if len(kept) == q.limit:
                return kept, e.seq if e.seq > q.first else None
    return kept, None


histories = st.lists(
    st.tuples(st.integers(1, 3), st.integers(0, 5), st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60
)


@given(
    histories,
    st.integers(1, 20),
    st.sampled_from([None, *SUBJECTS]),
    st.sampled_from([None, {"Healer-Severity": "critical"}, {"Healer-Status": "resolved"}]),
    st.one_of(st.none(), st.integers(0, 200)),
)
def test_every_page_is_the_one_the_stream_answers_and_the_cursors_walk_the_whole_list(
    history: list[tuple[int, int, int, int]],
    limit: int,
    subject: str | None,
    headers: dict[str, str] | None,
    since_s: int | None,
) -> None:
    found = entries(history)
    view = filled(found)
    since = None if since_s is None else T0 + dt.timedelta(seconds=since_s)
    hi, walked = found[-1].seq, []
    while True:
        q = ViewQuery(limit, found[0].seq, hi, since, subject, headers)
        page = view.newest_first(q)
        assert page == read_off_the_stream(found, q)
        walked += page[0]
        if page[1] is None:
            break
        hi = page[1] - 1
    everything = ViewQuery(len(found), found[0].seq, found[-1].seq, since, subject, headers)
    assert walked == read_off_the_stream(found, everything)[0]


@given(histories, st.integers(1, 10), st.integers(1, 20), st.one_of(st.none(), st.integers(0, 200)))
def test_a_page_that_reaches_past_what_the_view_holds_is_left_to_the_stream(
    history: list[tuple[int, int, int, int]], capacity: int, limit: int, since_s: int | None
) -> None:
    found = entries(history)
    view = filled(found, capacity)
    assert len(view) <= capacity + capacity // 16 + 1
    since = None if since_s is None else T0 + dt.timedelta(seconds=since_s)
    q = ViewQuery(limit, found[0].seq, found[-1].seq, since)
    page = view.newest_first(q)
    assert page is None or page == read_off_the_stream(found, q)
    held = found[-len(view) :] if len(view) else []
    if limit <= len(held) or any(since is not None and e.time < since for e in held):
        assert page == read_off_the_stream(found, q)  # the page ends inside the view: the view answers


def test_nothing_is_answered_past_what_the_view_has_read_or_before_it_read_anything() -> None:
    found = entries([(1, 1, 0, 0)] * 5)
    assert AlertView(100).newest_first(ViewQuery(10, 1, 5)) is None
    view = filled(found[:3])
    assert view.newest_first(ViewQuery(10, 1, 5)) is None  # two were stored that the view has not read
    assert view.newest_first(ViewQuery(10, 1, 3)) == ([e.body for e in reversed(found[:3])], None)


def test_what_the_stream_let_go_is_forgotten_and_not_answered() -> None:
    found = entries([(1, 1, 0, 0)] * 10)
    view = filled(found)
    view.forget_before(7)
    assert len(view) == 4
    assert view.newest_first(ViewQuery(100, 7, 10)) == ([e.body for e in reversed(found[6:])], None)
    assert view.newest_first(ViewQuery(100, 1, 5)) is None


def test_a_message_that_is_not_an_alert_is_read_past_and_listed_never() -> None:
    view = AlertView(100)
    view.add(1, T0, SUBJECTS[0], {}, b'{"a":1}')
    view.add(2, T0, SUBJECTS[0], {}, None)
    assert (view.last_seq, len(view)) == (2, 1)
    assert view.newest_first(ViewQuery(10, 1, 2)) == ([b'{"a":1}'], None)


def test_every_filter_of_the_alert_list_is_one_the_view_keeps_and_any_other_is_left_to_the_stream() -> None:
    given = {"status": "firing", "severity": "critical", "cluster": "c", "namespace": "n", "fingerprint": "f"}
    assert set(read_query(ALERT_PARAMS, given, T0, 100).headers) <= set(FILTERS)
    view = filled(entries([(1, 1, 0, 0)] * 3))
    assert view.newest_first(ViewQuery(10, 1, 3, headers={"Healer-Incident-Id": "i-1"})) is None


def test_an_empty_view_keeps_nothing_and_answers_nothing() -> None:
    view = filled(entries([(1, 1, 0, 0)] * 3), capacity=0)
    assert (len(view), view.last_seq) == (0, 3)
    assert view.newest_first(ViewQuery(10, 1, 3)) is None
