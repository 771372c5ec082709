"""A circuit breaker around the SMTP server (or a webhook endpoint): stop knocking on a door
that is not there.

Closed: sending goes ahead. After `threshold` consecutive connection failures it
opens, and for `cooldown` seconds nobody connects at all; messages simply wait in
the outbox. Then it lets one trial connection through (half-open): success closes
it, failure opens it for another cooldown. The state is per process, and shown in
`/readyz` and in the admin's outbox list.

Written here rather than taken from a library because it is 60 lines, async-aware
and needs only a monotonic clock; the breaker libraries on PyPI wrap sync calls.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class BreakerStatus:
    """What `/readyz` and the admin show."""

    state: BreakerState
    consecutive_failures: int
    retry_in: float
    last_error: str


class CircuitBreaker:
    """Counts consecutive connection failures; see the module docstring."""

    def __init__(
        self,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        name: str = "email: SMTP server",
    ) -> None:
        """`name`: what the log lines call the guarded service (webhooks: one per endpoint)."""
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False
        self.last_error = ""

    @property
    def state(self) -> BreakerState:
        if self.opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self.opened_at < self.cooldown:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allow(self) -> bool:
        """Whether a connection may be tried now; in half-open, one at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self.trial_running:
            return False
        self.trial_running = True
        log.info("%s: circuit breaker half-open, trying again", self.name)
        return True

    def succeeded(self) -> None:
        """A connection worked: close the breaker."""
        if self.opened_at is not None:
            log.warning("%s: reachable again; circuit breaker closed", self.name)
        self.failures = 0
        self.opened_at = None
        self.trial_running = False
        self.last_error = ""

    def failed(self, error: str) -> None:
        """A connection failed: count it, and open the breaker at the threshold."""
        self.failures += 1
        self.last_error = error
        self.trial_running = False
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = self.clock()
            log.error(
                "%s: circuit breaker OPEN after %d consecutive failures "
                "(last: %s); not trying for %.0fs",
                self.name,
                self.failures,
                error,
                self.cooldown,
            )

    def status(self) -> BreakerStatus:
        state = self.state
        retry_in = 0.0
        if self.opened_at is not None and state is BreakerState.OPEN:
            retry_in = max(0.0, self.cooldown - (self.clock() - self.opened_at))
        return BreakerStatus(state, self.failures, round(retry_in, 1), self.last_error)
