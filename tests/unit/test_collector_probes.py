"""One probe run as the collector reports it: success and latency every time, TLS expiry and quota when
known, and a condition only when the probe goes up or down."""

from __future__ import annotations

import datetime as dt

import pytest

from healer_common.settings.collector import ProbeTarget
from services.collector.sources.probes import ProbeOutcome, probe_emission
from services.collector.sources.quota import NEVER, ErrorBudget, QuotaTrend
from services.collector.sources.ratelimit import RateLimit
from services.collector.transitions import TransitionMemory

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
GITHUB = ProbeTarget(name="github", url="https://api.github.com/rate_limit")


def values(outcome: ProbeOutcome, memory: TransitionMemory) -> dict[str, float]:
    return {s.name: s.value for s in probe_emission(outcome, memory, NOW).samples}


def test_a_healthy_probe_reports_success_latency_tls_expiry_and_quota() -> None:
    outcome = ProbeOutcome(
        GITHUB, 200, 0.25, tls_expires=NOW + dt.timedelta(days=30), limits=RateLimit(5000, 4000, 600)
    )

    assert values(outcome, TransitionMemory()) == {
        "probe_success": 1.0,
        "probe_duration_seconds": 0.25,
        "probe_tls_expiry_seconds": 30 * 86_400,
        "ratelimit_remaining_ratio": 0.8,
        "probe_ratelimit_remaining": 4000,
        "probe_ratelimit_reset_seconds": 600,
    }


def test_a_probe_going_down_and_up_reports_each_transition_once() -> None:
    memory = TransitionMemory()
    up = ProbeOutcome(GITHUB, 200, 0.1)
    down = ProbeOutcome(GITHUB, None, 10.0, error="no answer from https://api.github.com/rate_limit within 10.0s")

    reasons = [
        [o.condition.reason for o in probe_emission(o, memory, NOW).conditions] for o in (up, up, down, down, up)
    ]

    assert reasons == [["ProbeSucceeded"], [], ["ProbeFailed"], [], ["ProbeSucceeded"]]


def test_a_rate_limited_answer_is_rate_limiting_not_a_network_failure() -> None:
    found = probe_emission(ProbeOutcome(GITHUB, 429, 0.1, limits=RateLimit(5000, 0, 42)), TransitionMemory(), NOW)

    condition = found.conditions[0].condition
    assert (condition.reason, condition.labels["retry_after_s"], condition.labels["status_code"]) == (
        "RateLimited",
        "42",
        "429",
    )
    assert condition.message == "HTTP 429 from https://api.github.com/rate_limit: rate limited"
    assert {s.name: s.value for s in found.samples}["ratelimit_remaining_ratio"] == 0.0
    spent = ProbeOutcome(GITHUB, 403, 0.1, limits=RateLimit(5000, 0, 42))
    assert probe_emission(spent, TransitionMemory(), NOW).conditions[0].condition.reason == "RateLimited"
    forbidden = ProbeOutcome(GITHUB, 403, 0.1, limits=RateLimit(5000, 10, 42))
    assert probe_emission(forbidden, TransitionMemory(), NOW).conditions[0].condition.reason == "ProbeFailed"


def test_a_quota_spent_steadily_says_when_it_runs_out_and_not_when_its_reset_comes_first() -> None:
    trend = QuotaTrend(window_s=300)
    assert trend.exhausted_in("openai", RateLimit(1000, 900, 3000), 0.0) == NEVER, "one reading has no trend"
    assert trend.exhausted_in("openai", RateLimit(1000, 600, 3000), 60.0) == pytest.approx(120.0), "5/s, 600 left"
    assert trend.exhausted_in("openai", RateLimit(1000, 500, 60), 80.0) == NEVER, "it resets in 60s, before it runs out"
    assert trend.exhausted_in("openai", RateLimit(1000, 1000, 3600), 90.0) == NEVER, "refilled: a new window"
    assert trend.exhausted_in("openai", RateLimit(None, None, None), 95.0) is None


def test_an_error_budget_is_spent_by_failures_within_its_window() -> None:
    budget = ErrorBudget(slo=0.99, window_s=3600, probes_per_window=400)  # 4 failures afforded an hour
    assert budget.remaining(True, 0.0) == 1.0
    assert budget.remaining(False, 10.0) == pytest.approx(0.75)
    assert budget.remaining(False, 20.0) == pytest.approx(0.5)
    assert budget.remaining(True, 3_615.0) == pytest.approx(0.75), "the first failure left the window"


def test_expected_statuses_decide_what_up_means() -> None:
    teapot = ProbeTarget(name="teapot", url="http://127.0.0.1:1/", expect_status=[418])

    assert ProbeOutcome(teapot, 418, 0.1).up
    assert not ProbeOutcome(teapot, 200, 0.1).up
    assert ProbeOutcome(GITHUB, 302, 0.1).up
