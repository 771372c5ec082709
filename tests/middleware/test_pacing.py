"""Pacing: a storm of requests begins a few per event-loop turn, in arrival order."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
from collections import Counter

from starlette.types import Receive, Scope, Send

from admin_app.middleware.pacing import PacingMiddleware


class TurnCounter:
    """Counts the event loop's turns: one callback that reschedules itself each turn."""

    def __init__(self) -> None:
        self.turn = 0
        self.running = True

    def start(self) -> None:
        asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self.turn += 1
        if self.running:
            asyncio.get_running_loop().call_soon(self._tick)


async def storm(per_turn: int, requests: int) -> tuple[list[int], Counter[int]]:
    """Fire `requests` at once; which ones began, in order, and how many began per turn."""
    turns = TurnCounter()
    began: list[int] = []
    began_on: Counter[int] = Counter()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        began.append(scope["n"])
        began_on[turns.turn] += 1

    paced = PacingMiddleware(app, per_turn=per_turn)
    turns.start()
    await asyncio.gather(*(paced({"type": "http", "n": n}, None, None) for n in range(requests)))  # type: ignore[arg-type]
    turns.running = False
    return began, began_on


async def test_a_storm_begins_at_most_per_turn_requests_in_each_turn_in_arrival_order():
    began, began_on = await storm(per_turn=8, requests=100)
    assert began == list(range(100)), "every request must begin, first come first served"
    assert max(began_on.values()) <= 8, (
        f"{max(began_on.values())} requests began in one turn of the loop: a storm would "
        "stall timers, heartbeats and health probes until all of them had run"
    )
    assert len(began_on) >= 100 // 8, "the storm must be spread over turns, not held back"


async def test_a_cancelled_wait_gives_its_turn_to_the_next_request():
    began: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        began.append(scope["n"])

    paced = PacingMiddleware(app, per_turn=1)
    tasks = [asyncio.create_task(paced({"type": "http", "n": n}, None, None)) for n in range(5)]  # type: ignore[arg-type]
    await asyncio.sleep(0)
    tasks[2].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert began == [0, 1, 3, 4], began


def test_the_served_app_freezes_what_startup_built_out_of_the_collectors_way():
    """Full collections that walk every module and mapper stalled the loop 100-150 ms."""
    probe = (
        "import gc, admin_app.main as m; m.app; print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"SECRET_KEY": "s" * 40, "DATA_DIR": "/nonexistent-never-written"},
    )
    frozen, tracked = map(int, done.stdout.split())
    assert frozen > 10 * tracked, (
        f"{frozen} objects frozen, {tracked} still walked by every full collection"
    )
    assert gc.get_freeze_count() == 0, "create_app in tests must not freeze the test process"
