"""At most a few requests begin per event-loop turn; the rest begin on the next turns.

A request's first step (middleware, session, routing, often a whole template with no
database wait in between) runs without yielding, a few milliseconds each. When 200
clients connect at once, as in a login storm, their first steps all become ready in
the same turn of the loop, and the loop runs every one of them before it looks at a
timer again: half a second in which no heartbeat, WebSocket message or health probe
is answered. Pacing spreads the storm over turns, in arrival order, so a turn costs
at most `per_turn` first steps. Nothing is held across awaits: a request that is
waiting for the database, a hash or the network does not count.

Measured by `admin_app_event_loop_lag_seconds`; `make stress` drives the storm.
"""

from __future__ import annotations

import asyncio
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

PER_TURN = 8
"""Requests that may begin in one turn of the event loop (a first step is 1-5 ms)."""


class Pacer:
    """Hands out turns: `per_turn` starts per loop iteration, first come first served."""

    def __init__(self, per_turn: int = PER_TURN) -> None:
        self.per_turn = per_turn
        self._start_over(None)

    def _start_over(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.loop = loop
        self.started = 0
        self.waiting: deque[asyncio.Future[None]] = deque()
        self.reset_pending = False

    async def wait_turn(self) -> None:
        """Return when this request may begin: now, or on a later turn of the loop."""
        loop = asyncio.get_running_loop()
        if loop is not self.loop:  # a new loop (tests run several): nothing carries over
            self._start_over(loop)
        self._reset_next_turn(loop)
        if not self.waiting and self.started < self.per_turn:
            self.started += 1
            return
        turn = loop.create_future()
        self.waiting.append(turn)
        await turn  # a cancelled wait is skipped when its turn comes

    def _reset_next_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self.reset_pending:
            self.reset_pending = True
            loop.call_soon(self._next_turn, loop)  # runs in the loop's next iteration

    def _next_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        self.reset_pending = False
        self.started = 0
        while self.waiting and self.started < self.per_turn:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                self.started += 1
        if self.waiting or self.started:
            self._reset_next_turn(loop)


class PacingMiddleware:
    """Begin HTTP requests and WebSocket connections at the pace `Pacer` allows."""

    def __init__(self, app: ASGIApp, *, per_turn: int = PER_TURN) -> None:
        self.app = app
        self.pacer = Pacer(per_turn)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            await self.pacer.wait_turn()
        await self.app(scope, receive, send)
