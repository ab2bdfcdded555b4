"""How hard a channel is tried: backoff with jitter that never undercuts the receiver's Retry-After, and a
circuit breaker that stops hammering a receiver that keeps failing, then lets one trial through.
"""

from __future__ import annotations

import pytest

from healer_common.clock import ManualClock
from healer_common.settings.notifier import DeliveryPolicy
from services.notifier.resilience import CircuitBreaker, retry_delay

POLICY = DeliveryPolicy(attempts=5, backoff_s=0.5, backoff_max_s=4.0)


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)])
def test_backoff_doubles_up_to_its_ceiling_with_full_jitter(attempt: int, ceiling: float) -> None:
    assert retry_delay(POLICY, attempt, 0.0, lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
    assert retry_delay(POLICY, attempt, 0.0, lambda: 0.0) == 0.0
    assert retry_delay(POLICY, attempt, 0.0, lambda: 0.5) == pytest.approx(ceiling / 2)


def test_a_retry_never_comes_sooner_than_the_receiver_asked() -> None:
    assert retry_delay(POLICY, 1, 17.0, lambda: 0.999) == 17.0
    assert retry_delay(POLICY, 4, 1.0, lambda: 0.75) == 3.0, "the jittered backoff is longer: it wins"


def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(failures_to_open=3, open_s=30.0, clock=clock)


def test_the_circuit_opens_after_failures_in_a_row_and_says_when_it_will_try_again() -> None:
    clock = ManualClock()
    circuit = breaker(clock)
    for _ in range(2):
        circuit.failed()
    assert circuit.allows(), "two failures: still closed"

    circuit.failed()
    clock.advance(10)

    assert not circuit.allows()
    assert circuit.retry_in_s() == 20.0


def test_a_success_in_between_resets_the_count() -> None:
    circuit = breaker(ManualClock())
    circuit.failed()
    circuit.failed()
    circuit.succeeded()
    circuit.failed()
    circuit.failed()

    assert circuit.allows()


def test_an_open_circuit_lets_one_trial_through_after_its_time_and_closes_on_success() -> None:
    clock = ManualClock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed()
    clock.advance(30)

    assert circuit.allows()
    assert circuit.state == "half-open"
    circuit.succeeded()
    assert circuit.allows()
    assert circuit.failures == 0


def test_a_failed_trial_opens_the_circuit_again_at_once() -> None:
    clock = ManualClock()
    circuit = breaker(clock)
    for _ in range(3):
        circuit.failed()
    clock.advance(31)
    assert circuit.allows()

    circuit.failed()

    assert not circuit.allows()
    assert circuit.retry_in_s() == 30.0
