"""Blast-radius decisions over numbers and times: the rate limit, cooldowns, the concurrency ceiling, the
circuit breaker, and each playbook's confidence."""

from __future__ import annotations

import datetime as dt

import pytest

from services.remediator.breaker import BreakerPolicy, RunOutcome, judge
from services.remediator.confidence import Confidence
from services.remediator.limits import concurrency_refusal, cooldown_refusal, rate_refusal
from tests.support.samples import T0

POLICY = BreakerPolicy(window_s=3600, min_runs=4, min_success=0.5, cooldown_s=600)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_actions_within_the_budget_pass_and_the_one_past_it_is_refused_with_the_count() -> None:
    taken = [at(s) for s in (0, 10, 20)]

    assert rate_refusal(taken, at(20), budget=3, window_s=3600) is None
    reason = rate_refusal([*taken, at(30)], at(30), budget=3, window_s=3600)
    assert reason == "rate limit: 3 actions in the last 3600s already use the budget of 3 (remediator.rate_limit)"


def test_actions_older_than_the_window_no_longer_count() -> None:
    assert rate_refusal([at(0), at(10), at(4000)], at(4000), budget=2, window_s=3600) is None


def test_a_budget_of_zero_refuses_every_action() -> None:
    assert rate_refusal([at(0)], at(0), budget=0, window_s=60) is not None


def test_a_target_acted_on_recently_is_cooling_down() -> None:
    reason = cooldown_refusal("pod cto/rex-1", at(0), at(100), cooldown_s=600)

    assert reason == "cooldown: Healer acted on pod cto/rex-1 100s ago; it waits 500s more (remediator.cooldown_s)"
    assert cooldown_refusal("pod cto/rex-1", at(0), at(600), cooldown_s=600) is None
    assert cooldown_refusal("pod cto/rex-1", None, at(0), cooldown_s=600) is None


def test_the_run_past_the_concurrency_ceiling_is_refused() -> None:
    assert concurrency_refusal(3, 3) is None
    assert (
        concurrency_refusal(4, 3)
        == "3 remediations are in progress, the most allowed at once (remediator.max_concurrent)"
    )


def outcomes(*results: bool, start: float = 0) -> list[RunOutcome]:
    return [RunOutcome(at(start + i), ok) for i, ok in enumerate(results)]


def test_the_breaker_stays_closed_until_enough_runs_have_ended() -> None:
    assert not judge(outcomes(False, False, False), None, at(10), POLICY).open


def test_the_breaker_opens_when_recent_success_falls_below_the_threshold() -> None:
    verdict = judge(outcomes(True, False, False, False), None, at(10), POLICY)

    assert verdict.open
    assert verdict.opened_at == at(10)
    assert "25% of the last 4 remediations succeeded, below 50%" in verdict.reason


def test_an_open_breaker_refuses_until_its_cooldown_ends_then_old_failures_no_longer_count() -> None:
    history = outcomes(False, False, False, False)

    assert judge(history, at(10), at(300), POLICY).open
    assert not judge(history, at(10), at(611), POLICY).open
    fresh = history + outcomes(True, True, True, True, start=700)
    assert not judge(fresh, at(10), at(800), POLICY).open


def test_failures_after_the_cooldown_open_it_again() -> None:
    history = outcomes(False, False, False, False) + outcomes(False, False, False, False, start=700)

    assert judge(history, at(10), at(800), POLICY).open


def test_a_healthy_record_keeps_the_breaker_closed() -> None:
    assert not judge(outcomes(True, True, False, True, False, True), None, at(10), POLICY).open


def test_a_playbook_without_history_is_a_coin_toss_and_learns_from_outcomes() -> None:
    fresh = Confidence()
    assert fresh.mean == 0.5

    trusted = Confidence(9, 1)
    assert trusted.mean == pytest.approx(10 / 12)
    assert trusted.after(succeeded=False) == Confidence(9, 2)
    assert Confidence(90, 10).spread < Confidence(9, 1).spread, "more evidence, less doubt"
    assert str(trusted) == "0.83 ± 0.10 (9 ok, 1 failed)"
