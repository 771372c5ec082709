"""The circuit breaker's states, on a clock the test moves by hand."""

from __future__ import annotations

from admin_app.email.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_then_lets_one_trial_through_after_the_cooldown():
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=60, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed("refused")
    assert breaker.state is BreakerState.CLOSED, "below the threshold it stays closed"
    breaker.failed("refused")
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    assert breaker.status().retry_in == 60
    clock.now += 59
    assert not breaker.allow(), "still cooling down"
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow(), "one trial after the cooldown"
    assert not breaker.allow(), "and only one at a time"
    breaker.failed("still refused")
    assert breaker.state is BreakerState.OPEN, "a failed trial opens it for another cooldown"
    clock.now += 60
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED and breaker.status().consecutive_failures == 0
    assert breaker.allow() and breaker.allow()


def test_a_success_resets_the_count_of_consecutive_failures():
    breaker = CircuitBreaker(threshold=2, cooldown=60, clock=Clock())
    breaker.failed("x")
    breaker.succeeded()
    breaker.failed("y")
    assert breaker.state is BreakerState.CLOSED
