"""The sleep-time analysis as an operator reads its report: over a generated week with planted patterns it
finds the correlations, weekly and daily hours and the filling volume, and nothing the noise made up; from
remediations it names what keeps failing, what fixes it and which playbooks to trust; and what it finds is
remembered once, then re-learned night after night.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pytest

from healer_common.clock import ManualClock
from healer_common.contract.events import MetricSample, ResourceRef
from healer_common.contract.remediations import Remediation, RemediationState
from healer_common.settings import MemorySettings
from services.memory_bridge.adapters.analysis_runner import learn
from services.memory_bridge.adapters.embedded_store import EmbeddedStore
from services.memory_bridge.analysis.history import History
from services.memory_bridge.analysis.insights import insight_memories
from services.memory_bridge.analysis.report import AnalysisReport
from services.memory_bridge.analysis.sleep_time import analyze
from services.memory_bridge.analysis.stats import binomial_sf, poisson_sf, theil_sen
from services.memory_bridge.bridge import MemoryBridge
from services.memory_bridge.rollups import RollupBook
from tests.support.analysis_history import START, GeneratedHistory, generate, precision_recall
from tests.support.samples import remediation


def report_of(week: GeneratedHistory, runs: tuple[Remediation, ...] = ()) -> AnalysisReport:
    return analyze(week.as_history(runs), MemorySettings(), week.end)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_planted_correlations_and_weekly_patterns_of_a_generated_week_are_found_and_nothing_else(
    seed: int,
) -> None:
    week = generate(seed)
    report = report_of(week)

    correlations = {(c.trigger, c.namespace, c.predicts, c.service) for c in report.correlations}
    temporal = {(t.signal, t.namespace, t.weekday, t.hour) for t in report.temporal}
    assert precision_recall(correlations, set(week.planted.correlations)) == (1.0, 1.0), report.correlations
    assert precision_recall(temporal, set(week.planted.temporal)) == (1.0, 1.0), report.temporal


def test_a_correlation_reads_as_a_sentence_with_its_numbers() -> None:
    report = report_of(generate(1))

    a7 = next(c for c in report.correlations if c.trigger == "A7")
    assert a7.description.startswith("A7 in cto is followed by H6 on redis ")
    assert a7.ratio >= 0.6
    assert a7.lift > 5
    assert a7.p_value < 1e-6
    assert 120 <= a7.median_lag_s <= 480


def test_a_chatty_alert_that_follows_everything_by_chance_is_no_correlation() -> None:
    report = report_of(generate(2))

    assert all(c.predicts != "A3" for c in report.correlations)


def test_weekly_and_daily_hours_say_how_much_above_normal_and_how_significant() -> None:
    report = report_of(generate(3))

    monday = next(t for t in report.temporal if t.weekday == 0)
    daily = next(t for t in report.temporal if t.weekday is None)
    assert monday.description.startswith("Monday 09:00: queue_depth{namespace=cto,queue=builds} at 3.")
    assert monday.ratio == pytest.approx(3.0, abs=0.3)
    assert monday.predicts == "H7"
    assert daily.description.startswith("every day 02:00: node_cpu_usage_ratio{node=n1} at 2.")
    assert daily.p_value < 1e-6
    assert daily.probability > monday.probability, "seen on seven days rather than one Monday"


def test_exhaustion_is_predicted_for_the_filling_volume_only() -> None:
    week = generate(4)
    report = report_of(week)

    (coming,) = [f for f in report.exhaustion if f.exhausted_at is not None]
    assert coming.series == week.planted.exhausted
    assert coming.threshold == 0.8
    assert coming.exhausted_at is not None
    assert week.end + dt.timedelta(days=1) < coming.exhausted_at < week.end + dt.timedelta(days=4)
    assert re.search(r"reaches it in [1-4] days \(", coming.description), coming.description
    assert {f.series for f in report.exhaustion} == {week.planted.exhausted, "node_cpu_usage_ratio{node=n1}"}


def run(state: RemediationState, n: int, playbook: str, name: str = "rex-1", alert: str = "H8") -> Remediation:
    base = remediation(state, alert_ids=(alert,), target=ResourceRef(kind="Pod", namespace="cto", name=name))
    when = START + dt.timedelta(hours=n)
    return base.evolve(
        remediation_id=f"rem-{n}", incident_id=f"inc-{n}", playbook=playbook, time=when, finished_at=when
    )


RUNS = (
    run("failed", 1, "restart-pod"),
    run("failed", 2, "restart-pod"),
    run("rolled_back", 3, "restart-pod"),
    run("succeeded", 4, "raise-memory-limit"),
    run("succeeded", 5, "raise-memory-limit", name="rex-2"),
    *[run("succeeded", 10 + i, "restart-pod", name="cleo-1", alert="A7") for i in range(12)],
    run("skipped", 30, "restart-pod"),
)


def test_a_recurring_failure_is_reported_with_what_failed_and_the_known_fix() -> None:
    report = report_of(generate(1), RUNS)

    (rex,) = [f for f in report.failures if f.service == "rex"]
    assert (rex.alert_type, rex.namespace, rex.incidents, rex.failures) == ("H8", "cto", 5, 3)
    assert rex.known_fix == "raise-memory-limit"
    assert "restart-pod worked 0 of 3" in rex.description


def test_playbooks_are_rated_trust_review_or_avoid_from_their_outcomes() -> None:
    report = report_of(generate(1), RUNS)

    verdicts = {(t.alert_type, t.playbook): t.verdict for t in report.tuning}
    assert verdicts == {
        ("A7", "restart-pod"): "trust",
        ("H8", "raise-memory-limit"): "review",
        ("H8", "restart-pod"): "avoid",
    }


def test_a_correlation_suggests_the_known_fix_of_what_it_predicts() -> None:
    week = generate(1)
    runs = tuple(run("succeeded", i, "restart-redis", name="redis-0", alert="H6") for i in range(3))

    a7 = next(c for c in report_of(week, runs).correlations if c.trigger == "A7")

    assert (
        a7.prevention
        == "when A7 fires in cto, act on redis before database health: restart-redis fixed H6 3 of 3 times"
    )


def test_a_strong_correlation_can_predict_from_the_first_night_a_weekly_hour_seen_once_cannot() -> None:
    week = generate(1)
    insights = {item.content.split(".")[0]: item for item in insight_memories(report_of(week), week.end)}

    a7 = next(item for text, item in insights.items() if text.startswith("A7 in cto"))
    monday = next(item for text, item in insights.items() if text.startswith("Monday 09:00"))
    assert (a7.salience or 0) > 0.8
    assert (monday.salience or 1) < 0.8


async def test_insights_are_remembered_once_and_relearned_the_next_night(tmp_path: Path) -> None:
    week = generate(1)
    clock = ManualClock(week.end)
    store = EmbeddedStore(tmp_path / "memory.sqlite3")
    bridge = MemoryBridge(store, clock, MemorySettings())
    try:
        first = await learn(report_of(week, RUNS), clock.now(), bridge.remember)
        clock.advance(86_400)
        second = await learn(report_of(week, RUNS), clock.now(), bridge.remember)
        stats = await bridge.stats()
        strong = await bridge.patterns(0.8)
    finally:
        await store.close()

    assert first.insights_stored == first.insights_new > 0
    assert (second.insights_stored, second.insights_new) == (first.insights_stored, 0)
    assert stats.patterns == first.insights_stored
    assert any(r.content.startswith("Monday 09:00") for r, _ in strong), "found again: now above 0.8"


def test_an_empty_history_gives_an_empty_report() -> None:
    start = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    report = analyze(History(start, start + dt.timedelta(days=1)), MemorySettings(), start)

    assert (report.correlations, report.temporal, report.exhaustion, report.failures, report.tuning) == (
        [],
        [],
        [],
        [],
        [],
    )


def test_tail_probabilities_match_known_values() -> None:
    assert binomial_sf(8, 10, 0.5) == pytest.approx(56 / 1024)
    assert poisson_sf(3, 1.0) == pytest.approx(1 - 2.5 * np.exp(-1))
    assert binomial_sf(0, 10, 0.3) == poisson_sf(0, 2.0) == 1.0


def test_the_trend_ignores_a_spike_and_an_outage() -> None:
    times = np.arange(100, dtype=np.float64)
    values = 0.5 + 0.01 * times
    values[40] = 5.0
    values[60:63] = 0.0

    slope, intercept = theil_sen(times, values)

    assert slope == pytest.approx(0.01, rel=0.02)
    assert intercept == pytest.approx(0.5, abs=0.02)


def test_three_weeks_of_rollups_hold_the_planted_daily_and_weekly_hours_and_the_filling_volume() -> None:
    weeks = generate(seed=11, days=21)
    rollups = weeks.rollups()

    report = analyze(weeks.from_rollups(rollups), MemorySettings(), weeks.end)

    found = {(p.signal, p.namespace, p.weekday, p.hour) for p in report.temporal if p.source == "series"}
    assert ("node_cpu_usage_ratio{node=n1}", None, None, 2) in found, "the nightly CPU, every day at 02:00"
    assert ("queue_depth{namespace=cto,queue=builds}", "cto", 0, 9) in found, "the queue, Mondays at 09:00"
    assert {f.series for f in report.exhaustion} >= {weeks.planted.exhausted}
    assert len({b.bucket_start for b in rollups}) == 21 * 288, "one bucket every 5 minutes for 3 weeks"
    assert sum(len(b.series) for b in rollups) == 3 * 21 * 288, "three series in each"


def test_a_late_sample_is_published_again_for_its_bucket_and_the_reader_adds_both_by_their_counts() -> None:
    book, now = RollupBook("one", grace_s=0.0), START + dt.timedelta(hours=1)
    sample = MetricSample(name="queue_depth", value=10.0, labels={"queue": "builds"}, time=START)
    book.add("default", [sample], now)
    first = book.closed(now)
    book.add("default", [sample.model_copy(update={"value": 40.0})], now)
    second = book.closed(now)
    history = History(START, now)
    for batch in first + second:
        history.add_rollup(batch)

    [series] = history.series()
    assert first[0].event_id != second[0].event_id, "both are kept by the stream"
    assert series.values.tolist() == [25.0]
