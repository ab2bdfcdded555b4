"""Trend prediction as the on-call engineer relies on it: a filling volume is announced before it is full,
with an honest crossing time; noise, outliers, a level shift and a daily swing are not mistaken for a fill;
a prediction is withdrawn when the trend turns; and `healer detect trend` says the same thing row by row.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from healer_cli.main import app
from healer_common.settings.detector import DetectorSettings
from services.detector.trend import DAY_S, TrendAnalysis, TrendParams, TrendTracker
from tests.support.detector_harness import Detector

T0 = 1_767_600_000.0  # a Monday, 09:00 UTC
MINUTE = 60.0
PVC = {"namespace": "cto", "persistentvolumeclaim": "data-0"}


def run(values: np.ndarray, threshold: float = 80.0, step_s: float = MINUTE) -> list[TrendAnalysis]:
    """The tracker's analyses of samples `step_s` apart (five-minute samples get five-minute slots)."""
    params = TrendParams(threshold=threshold)
    if step_s != MINUTE:
        params = TrendParams(threshold=threshold, slot_s=step_s, window_slots=int(60 * MINUTE / step_s))
    tracker = TrendTracker(params)
    found = []
    for i, value in enumerate(values):
        if (analysis := tracker.observe(T0 + i * step_s, float(value))) is not None:
            found.append(analysis)
    return found


def test_a_steady_fill_is_predicted_to_cross_close_to_when_it_does() -> None:
    rng = np.random.default_rng(1)
    minutes = np.arange(400)
    truth = T0 + 380 * MINUTE  # 40 % + 0.1 %/min reaches 78 % at minute 380
    analyses = run(40 + 0.1 * minutes + rng.normal(0, 0.3, minutes.size), threshold=78)

    (last,) = [a for a in analyses if a.time == T0 + 365 * MINUTE]  # a quarter of an hour before

    assert last.crossing is not None
    assert abs(last.crossing - truth) < 5 * MINUTE
    assert last.rate_per_minute == pytest_approx(0.1, 0.02)
    assert last.confidence > 0.9
    assert last.time_to_threshold_s is not None


def pytest_approx(value: float, tolerance: float) -> object:
    return pytest.approx(value, abs=tolerance)


@pytest.mark.timeout(30)  # 2,000 fits: about 5 s of CPU, over 10 s when the shared cores are busy
def test_noise_and_outliers_on_a_flat_series_predict_nothing() -> None:
    rng = np.random.default_rng(2)
    values = 70 + rng.normal(0, 2, 2_000)
    values[rng.random(values.size) < 0.02] += 25

    assert [a for a in run(values) if a.crossing is not None] == []


def test_a_level_shift_is_not_mistaken_for_a_fill() -> None:
    rng = np.random.default_rng(3)
    values = np.where(np.arange(600) < 300, 50.0, 74.0) + rng.normal(0, 0.3, 600)

    assert [a for a in run(values) if a.crossing is not None] == []


def test_a_daily_swing_below_the_threshold_is_expected_not_extrapolated() -> None:
    rng = np.random.default_rng(4)
    step = 5 * MINUTE
    samples = np.arange(int(3 * DAY_S / step))
    values = 55 + 22 * np.sin(2 * np.pi * samples * step / DAY_S) + rng.normal(0, 0.3, samples.size)

    third_day = [a for a in run(values, step_s=step) if a.time >= T0 + 2 * DAY_S]

    assert third_day
    assert [a for a in third_day if a.crossing is not None] == []
    assert "seasonal" in {a.model for a in third_day}  # yesterday's shape is known and used


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=150))
def test_any_series_gets_a_well_formed_answer(values: list[float]) -> None:
    for analysis in run(np.array(values)):
        assert 0.0 <= analysis.confidence <= 1.0
        assert analysis.crossing is None or analysis.crossing >= analysis.time


def test_a_filling_pvc_raises_a_predicted_h2_that_the_real_one_then_replaces() -> None:
    detector = Detector()
    alerts = []
    for minute in range(90):  # 50 % + 0.5 %/min: crosses 80 % at minute 60
        alerts += detector.metric("pvc_usage_ratio", 0.50 + 0.005 * minute, PVC) + detector.advance(MINUTE)

    predicted = [a for a in alerts if a.predicted]
    real = [a for a in alerts if not a.predicted]
    assert [(a.alert_id, a.status, a.severity) for a in predicted] == [
        ("H2", "firing", "warning"),
        ("H2", "resolved", "warning"),
    ]
    assert predicted[0].starts_at < real[0].starts_at
    assert float(predicted[0].labels["confidence"]) >= 0.6
    assert "predicted_crossing" in predicted[0].labels
    assert predicted[0].fingerprint != real[0].fingerprint
    assert predicted[1].evidence[-1].summary.startswith("came true")
    said = predicted[0].annotations["summary"]
    assert re.search(
        r"PVC usage \d+(\.\d)? % heading for 80 % \(\+0\.5 %/min\), crossing in about \d+ minutes", said
    ), said


def test_a_prediction_is_withdrawn_when_the_fill_stops() -> None:
    detector = Detector()
    alerts = []
    for minute in range(120):
        usage = 0.50 + 0.005 * min(minute, 45)  # fills to 72.5 %, then stays
        alerts += detector.metric("pvc_usage_ratio", usage, PVC) + detector.advance(MINUTE)

    statuses = [(a.status, a.predicted) for a in alerts]
    assert statuses == [("firing", True), ("resolved", True)]
    assert alerts[1].evidence[-1].summary.startswith("withdrawn")


def test_a_volume_far_below_its_threshold_is_not_followed() -> None:
    detector = Detector(DetectorSettings())
    for minute in range(120):
        detector.metric("pvc_usage_ratio", 0.05 + 0.002 * minute, PVC)
        detector.advance(MINUTE)

    assert detector.published == []


def test_detect_trend_writes_one_row_per_input_row(tmp_path: Path) -> None:
    series = tmp_path / "series.csv"
    rows = [("timestamp", "value")] + [
        (f"2026-01-05 {9 + m // 60:02d}:{m % 60:02d}:00", f"{40 + 0.1 * m:.2f}") for m in range(400)
    ]
    series.write_text("\n".join(",".join(r) for r in rows) + "\n")
    output = tmp_path / "predictions.csv"

    result = CliRunner().invoke(
        app, ["detect", "trend", "--input", str(series), "--threshold", "78", "--output", str(output)]
    )

    assert result.exit_code == 0, result.output
    written = list(csv.DictReader(output.read_text().splitlines()))
    assert [r["timestamp"] for r in written] == [r[0] for r in rows[1:]]
    assert written[0]["predicted_crossing"] == ""
    assert written[370]["predicted_crossing"].startswith("2026-01-05 15:")  # 40 + 0.1 m = 78 at 15:20
    assert float(written[370]["confidence"]) > 0.9


def test_a_straight_line_is_forecast_no_worse_than_least_squares_on_the_same_window() -> None:
    rng = np.random.default_rng(11)
    minutes = np.arange(500)
    truth = T0 + 450 * MINUTE  # 40 % rising 40 points in 450 minutes
    values = 40 + 40 * minutes / 450 + rng.normal(0, 1.0, minutes.size)
    ours = {round((a.time - T0) / MINUTE): a.crossing for a in run(values)}

    ours_errors, least_squares_errors = [], []
    for minute in range(425, 450):
        x, y = minutes[minute - 59 : minute + 1] - minute, values[minute - 59 : minute + 1]
        slope, level = np.polyfit(x, y, 1)
        least_squares_errors.append(abs(minute + (80 - level) / slope - 450))
        if (crossing := ours.get(minute)) is not None:
            ours_errors.append(abs(crossing - truth) / MINUTE)

    assert len(ours_errors) >= 15  # min_confidence 0.7 speaks in fewer minutes, and more rightly, than 0.5
    assert np.median(ours_errors) <= np.median(least_squares_errors)


def models_used(values: np.ndarray, slot_s: float = 600.0) -> list[str]:
    params = TrendParams(threshold=90.0, slot_s=slot_s, window_slots=24, horizon_s=6 * slot_s, profile_days=1)
    tracker = TrendTracker(params)
    return [a.model for i, v in enumerate(values) if (a := tracker.observe(T0 + i * slot_s, float(v))) is not None]


def test_a_daily_profile_is_used_only_when_the_series_has_one() -> None:
    rng = np.random.default_rng(12)
    slots = np.arange(int(3.5 * DAY_S / 600))
    daily = 50 + 12 * np.sin(2 * np.pi * slots * 600 / DAY_S) + 0.01 * slots + rng.normal(0, 0.5, slots.size)
    wandering = 60 + 0.004 * slots + np.cumsum(rng.normal(0, 0.4, slots.size))

    last_day = models_used(daily)[-int(DAY_S / 600) :]
    assert last_day.count("seasonal") > 0.5 * len(last_day)
    assert "seasonal" not in models_used(wandering)
