"""Links learned from history: how often B follows A within the window, and how much more than chance."""

from __future__ import annotations

import datetime as dt

from services.correlator.cooccurrence import LinkStats, LinkThresholds, alert_type, followed
from tests.support.samples import T0

WINDOW = dt.timedelta(minutes=10)


def test_an_alert_counts_a_pair_with_each_other_type_seen_within_the_window_before_it() -> None:
    last_seen = {"H6": T0 - dt.timedelta(minutes=3), "H2": T0 - dt.timedelta(minutes=30), "H7": T0}

    assert followed(last_seen, "H7", T0, WINDOW) == ["H6"]


def test_a_link_that_always_holds_and_is_rare_otherwise_is_strong() -> None:
    stats = LinkStats(WINDOW, dt.timedelta(days=7), counts={"H6": 10, "H7": 10}, pairs={("H6", "H7"): 9})

    link = stats.link("H6", "H7")

    assert link is not None
    assert (link.support, link.confidence) == (9, 0.9)
    assert link.lift > 50
    assert link.strength > 0.85
    assert LinkThresholds().joins(link)


def test_a_cause_that_fires_all_the_time_is_no_better_than_chance() -> None:
    stats = LinkStats(WINDOW, dt.timedelta(hours=1), counts={"H2": 60, "H7": 10}, pairs={("H2", "H7"): 10})

    link = stats.link("H2", "H7")

    assert link is not None
    assert link.lift == 1.0
    assert link.strength == 0.0
    assert not LinkThresholds().joins(link)


def test_too_little_history_is_not_trusted() -> None:
    stats = LinkStats(WINDOW, dt.timedelta(days=7), counts={"H6": 2, "H7": 2}, pairs={("H6", "H7"): 2})

    assert not LinkThresholds(min_support=5).trusted(stats.link("H6", "H7"))
    assert stats.link("H7", "H6") is None


def test_the_type_of_an_alert_includes_its_reason() -> None:
    assert alert_type({"alertname": "H8", "reason": "MemoryPressure"}) == "H8/MemoryPressure"
    assert alert_type({"alertname": "H6"}) == "H6"
