"""Anomaly baselines as an operator relies on them: quiet while learning and on ordinary noise, loud on a
spike or a lasting shift, unmoved by a daily rhythm yet alert to a missing daily peak; the same answers from
`healer detect anomalies`; and an anomaly alert that fires once and resolves.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from healer_cli.main import app
from healer_common.settings.detector import AnomalySettings, DetectorSettings
from services.detector.anomaly import AnomalyScorer
from services.detector.anomaly_steps import StepMeans
from services.detector.series import MetricBatch
from tests.support.detector_harness import Detector

T0 = 1_767_600_000.0
STEP = 300.0  # five-minute samples
DAY = int(86_400 / STEP)


def scores(values: np.ndarray) -> np.ndarray:
    scorer = AnomalyScorer()
    return np.array([scorer.observe(T0 + i * STEP, float(v)).score for i, v in enumerate(values)])


def test_nothing_scores_while_the_baseline_is_learnt() -> None:
    values = np.random.default_rng(1).normal(50, 5, 150)
    values[100] = 500

    assert scores(values).max() == 0.0


def test_a_spike_scores_near_one_and_ordinary_noise_does_not() -> None:
    values = np.random.default_rng(2).normal(50, 5, 1_500)
    values[1_200] = 120

    found = scores(values)

    assert found[1_200] == 1.0
    assert (found[300:1_200] >= AnomalySettings().alert_score).mean() < 0.01


def test_a_lasting_shift_is_caught_once_not_at_every_sample() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.normal(50, 2, 1_000), rng.normal(58, 2, 400)])

    found = scores(values)

    assert found[1_000:1_030].max() > 0.9
    assert (found[1_030:] > 0.9).sum() < 10


def test_a_shift_too_small_for_any_one_sample_is_caught_when_it_lasts() -> None:
    rng = np.random.default_rng(9)
    values = np.concatenate([rng.normal(50, 2, 1_500), rng.normal(51, 2, 300)])  # half a standard deviation up

    found = scores(values)

    assert found[1_500:1_600].max() == 1.0
    assert (found[1_000:1_500] == 1.0).sum() <= 1


def test_a_daily_rhythm_is_expected_and_a_missing_peak_is_not() -> None:
    rng = np.random.default_rng(4)
    days = 6
    clock = np.arange(days * DAY)
    values = 100 + 80 * np.clip(np.sin(2 * np.pi * clock / DAY), 0, None) + rng.normal(0, 2, clock.size)
    peak_of_day_5 = slice(5 * DAY + DAY // 8, 5 * DAY + 3 * DAY // 8)
    values[peak_of_day_5] = 100 + rng.normal(0, 2, values[peak_of_day_5].size)  # the peak never came

    found = scores(values)

    assert (found[2 * DAY : 5 * DAY] > 0.9).sum() <= 3  # three ordinary days of peaks: a record now and then
    assert found[peak_of_day_5].max() > 0.9


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=400))
def test_every_score_is_between_zero_and_one(values: list[float]) -> None:
    found = scores(np.array(values))

    assert ((found >= 0) & (found <= 1)).all()


def test_detect_anomalies_scores_every_row_online(tmp_path: Path) -> None:
    values = np.random.default_rng(5).normal(20, 1, 600)
    values[500] = 60
    series = tmp_path / "series.csv"
    lines = ["timestamp,value"] + [f"{int(T0 + i * STEP)},{v:.3f}" for i, v in enumerate(values)]
    series.write_text("\n".join(lines) + "\n")
    output = tmp_path / "scores.csv"

    result = CliRunner().invoke(app, ["detect", "anomalies", "--input", str(series), "--output", str(output)])

    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(output.read_text().splitlines()))
    assert len(rows) == 600
    assert float(rows[500]["anomaly_score"]) > 0.95
    assert [float(r["anomaly_score"]) for r in rows] == list(scores(np.round(values, 3)).round(6))


def test_an_anomalous_queue_raises_h7_and_resolves_when_it_settles() -> None:
    detector = Detector()
    rng = np.random.default_rng(6)
    labels = {"namespace": "cto", "queue": "builds"}
    alerts = []
    spike_at = None
    for i in range(700):
        if i == 600:
            spike_at = detector.clock.now()
        depth = 300 if 600 <= i < 603 else 40 + rng.normal(0, 4)
        alerts += detector.metric("queue_depth", float(depth), labels) + detector.advance(STEP, step_s=STEP)

    anomalies = [a for a in alerts if a.labels.get("anomaly") == "true"]
    (spike,) = [a for a in anomalies if a.firing and a.starts_at == spike_at]
    assert (spike.alert_id, spike.severity) == ("H7", "warning")
    assert "sigma from its baseline" in spike.annotations["summary"]
    assert anomalies[-1].status == "resolved"
    assert anomalies[-1].fingerprint == spike.fingerprint


def test_a_saved_baseline_resumes_exactly_where_it_left_off() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(50, 5, 900)
    values[850] = 110
    whole = AnomalyScorer()
    first = [whole.observe(T0 + i * STEP, float(v)).score for i, v in enumerate(values)]

    before = AnomalyScorer()
    for i, v in enumerate(values[:600]):
        before.observe(T0 + i * STEP, float(v))
    resumed = AnomalyScorer.from_state(json.loads(json.dumps(before.state())))
    later = [resumed.observe(T0 + i * STEP, float(v)).score for i, v in enumerate(values[600:], start=600)]

    assert later == first[600:]


def test_the_baseline_counts_its_window_in_time_one_mean_per_five_minutes_whatever_the_scrape() -> None:
    steps = StepMeans(300.0)
    times = np.arange(T0, T0 + 3 * 300.0, 10.0)  # 15 minutes scraped every 10 s: 90 samples
    batch = MetricBatch(np.zeros(times.size, np.int64), np.arange(times.size, dtype=np.float64), times)

    closed = steps.fold({"queue_depth": batch})["queue_depth"]

    assert closed.values.tolist() == [14.5, 44.5], "two steps closed, the third still open"
    assert closed.times.tolist() == [T0 + 290.0, T0 + 590.0]
    days = DetectorSettings().anomaly.baseline_points * DetectorSettings().anomaly.step_s / 86_400
    assert days == 14.0, "the default baseline holds two weeks (the cross-validated 4,032 steps)"
