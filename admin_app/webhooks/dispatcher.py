"""`Dispatcher`: POSTs due webhook deliveries, one lane per endpoint, all lanes at once.

It runs in the same process as the email worker (`admin-app worker`, or the web
process with `EMAIL_WORKER=true`), beside it, on its own loop: a hung SMTP server
does not hold up webhooks, nor the other way round.

Each poll claims due deliveries for endpoints that have no lane running and whose
breaker is not open, and starts one lane (a task) per endpoint. A lane sends its
deliveries in order, each under a `WEBHOOK_TIMEOUT` deadline, and records each
attempt as it ends; on a failure it hands back the rest of its batch and ends. So a
slow or failing endpoint holds up only its own lane: the next poll goes on claiming
for the others. Killed mid-batch, a process leaves at most the delivery in flight
sent but unrecorded (a duplicate, which `Webhook-Id` lets receivers drop), never one
lost: its rows are claimed again when their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

import httpx2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette_admin import BaseModelView
from starlette_admin.events import AdminEvent, EventContext

from admin_app.crypto import UndecryptableError
from admin_app.email.breaker import BreakerState, CircuitBreaker
from admin_app.email.delivery import worker_name
from admin_app.settings import Settings
from admin_app.web.errors import is_database_unavailable
from admin_app.webhooks import queue, signing
from admin_app.webhooks.keys import unseal
from admin_app.webhooks.queue import Attempt, Claimed
from admin_app.work_queue import wait_for_work

log = logging.getLogger(__name__)


class Dispatcher:
    """Delivers webhooks for one process; see the module docstring."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.name = worker_name()
        self.lease = timedelta(seconds=settings.webhook_lease)
        self.breakers: dict[int, CircuitBreaker] = {}
        self.lanes: dict[int, asyncio.Task[None]] = {}
        self.stopping = False
        self.wakeup = asyncio.Event()
        self._client: httpx2.AsyncClient | None = None

    def breaker(self, endpoint_id: int) -> CircuitBreaker:
        """The endpoint's breaker in this process."""
        if endpoint_id not in self.breakers:
            self.breakers[endpoint_id] = CircuitBreaker(
                self.settings.webhook_breaker_threshold,
                self.settings.webhook_breaker_cooldown,
                name=f"webhook endpoint {endpoint_id}",
            )
        return self.breakers[endpoint_id]

    def _skipped(self) -> set[int]:
        """Endpoints not to claim for now: a lane is running, or the breaker is open."""
        closed_off = {i for i, b in self.breakers.items() if b.state is BreakerState.OPEN}
        return {i for i, lane in self.lanes.items() if not lane.done()} | closed_off

    async def step(self) -> int:
        """Claim due deliveries and start their lanes; return how many were claimed."""
        async with self.sessions.begin() as db:
            batch = await queue.claim(
                db, worker=self.name, lease=self.lease,
                limit=self.settings.webhook_batch_size, skip=self._skipped(),
            )  # fmt: skip
            if not batch:
                return 0  # an idle poll: one read, nothing more
            targets = await queue.endpoints(db, {c.endpoint_id for c in batch})
        lanes: dict[int, list[Claimed]] = defaultdict(list)
        for claimed in batch:
            lanes[claimed.endpoint_id].append(claimed)
        for endpoint_id, deliveries in lanes.items():
            url, secret = targets[endpoint_id]
            lane = asyncio.create_task(self._lane(endpoint_id, url, secret, deliveries))
            lane.add_done_callback(lambda _task: self.wakeup.set())
            self.lanes[endpoint_id] = lane
        return len(batch)

    async def _lane(self, endpoint_id: int, url: str, stored: str, batch: list[Claimed]) -> None:
        deadline = time.monotonic() + self.lease.total_seconds() * 0.75
        breaker = self.breaker(endpoint_id)
        done = 0
        try:
            secret = unseal(self.settings, stored)
        except UndecryptableError:
            secret = ""
        try:
            for claimed in batch:
                if self.stopping or time.monotonic() > deadline or not breaker.allow():
                    break
                done += 1
                if not await self._deliver(url, secret, claimed, breaker):
                    break
        except asyncio.CancelledError:
            await asyncio.shield(self._release(batch[done:]))
            raise
        except Exception as error:
            if not is_database_unavailable(error):
                log.exception(
                    "webhook endpoint %s: a lane failed; the rest is retried", endpoint_id
                )
                await self._release(batch[done:])
            else:  # the rows stay claimed; another try takes them once their lease ends
                log.warning("webhook endpoint %s: database unavailable: %s", endpoint_id, error)
            return
        await self._release(batch[done:])

    async def _deliver(
        self, url: str, secret: str, claimed: Claimed, breaker: CircuitBreaker
    ) -> bool:
        """POST one delivery and record it; whether it was accepted."""
        if secret:
            attempt = await self.post(url, secret, claimed)
        else:  # nothing is sent unsigned
            attempt = Attempt(None, "the endpoint's secret is under no configured key", 0)
        async with self.sessions.begin() as db:
            if attempt.ok:
                await queue.mark_delivered(db, claimed.id, attempt)
                breaker.succeeded()
                return True
            status = await queue.mark_failed(db, self.settings, claimed, attempt, worker=self.name)
        breaker.failed(attempt.error)
        log.warning(
            "webhook %s to %s failed (%s): %s", claimed.event_id, url, status, attempt.error
        )
        return False

    async def post(self, url: str, secret: str, claimed: Claimed) -> Attempt:
        """One signed POST, within `WEBHOOK_TIMEOUT` from connecting to the last byte."""
        body = claimed.body.encode()
        headers = signing.headers(secret, claimed.event_id, int(time.time()), body)
        timeout = self.settings.webhook_timeout
        started = time.monotonic()
        status: int | None = None
        try:
            async with asyncio.timeout(timeout):
                response = await self.client.post(url, content=body, headers=headers)
            status = response.status_code
            error = "" if 200 <= status < 300 else f"HTTP {status}: {response.text[:300]}"
        except TimeoutError:
            error = f"no answer within {timeout:g}s"
        except httpx2.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        return Attempt(status, error, round((time.monotonic() - started) * 1000))

    @property
    def client(self) -> httpx2.AsyncClient:
        """The HTTP client, made on first use in the running loop; no redirects, no proxies
        from the environment."""
        if self._client is None:
            timeout = httpx2.Timeout(self.settings.webhook_timeout)
            self._client = httpx2.AsyncClient(timeout=timeout, trust_env=False)
        return self._client

    async def _release(self, batch: Iterable[Claimed]) -> None:
        ids = [claimed.id for claimed in batch]
        if ids:
            async with self.sessions.begin() as db:
                await queue.release(db, self.name, ids)

    def wake(self) -> None:
        """Look for due deliveries now (a redeliver in the admin wakes it)."""
        self.wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due webhooks until `stop` is set."""
        while not stop.is_set():
            claimed = await self._safe_step()
            if claimed < self.settings.webhook_batch_size:
                await self._wait(stop)
        await self.aclose()

    async def run_until_idle(self) -> int:
        """Deliver until nothing is due and no lane runs; return how many were claimed."""
        total = 0
        while not self.stopping:
            claimed = await self._safe_step()
            running = [lane for lane in self.lanes.values() if not lane.done()]
            if not claimed and not running:
                break
            total += claimed
            if running:
                await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        return total

    async def _safe_step(self) -> int:
        try:
            return await self.step()
        except Exception as error:
            if is_database_unavailable(error):  # expected during an outage: no traceback
                log.warning("webhook worker: database unavailable, retrying: %s", error)
            else:
                log.exception("webhook worker: a claim failed; retrying after the poll interval")
            return 0

    async def _wait(self, stop: asyncio.Event) -> None:
        await wait_for_work(stop, self.wakeup, self.settings.webhook_poll_interval)

    async def aclose(self) -> None:
        """Stop: running lanes finish the delivery in flight and hand the rest back."""
        self.stopping = True
        self.wakeup.set()
        lanes = [lane for lane in self.lanes.values() if not lane.done()]
        if lanes:
            _done, pending = await asyncio.wait(lanes, timeout=self.settings.webhook_timeout + 5)
            for lane in pending:
                lane.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@contextlib.asynccontextmanager
async def running_dispatcher(dispatcher: Dispatcher, *, enabled: bool) -> AsyncIterator[None]:
    """Run the dispatcher as a task for the duration of the block (the app's lifespan)."""
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop)) if enabled else None
    try:
        yield
    finally:
        stop.set()
        dispatcher.stopping = True
        if task is not None:
            await task
        else:
            await dispatcher.aclose()


def get_dispatcher(conn: HTTPConnection) -> Dispatcher | None:
    """The app's webhook dispatcher, when the lifespan made one."""
    found: Dispatcher | None = getattr(conn.state, "webhooks", None)
    return found


WAKING_EVENTS = (
    AdminEvent.AFTER_CREATE_COMMITTED,
    AdminEvent.AFTER_EDIT_COMMITTED,
    AdminEvent.AFTER_DELETE_COMMITTED,
)


def wake_after_commit(views: Iterable[BaseModelView]) -> None:
    """After a change made in the admin commits, this process's worker looks for due
    deliveries at once instead of at its next poll (on each view's own event bus, as
    `admin_app.live.publish` explains)."""
    for view in views:
        for event in WAKING_EVENTS:
            view.events.on(event, _wake)


async def _wake(ctx: EventContext) -> None:
    dispatcher = get_dispatcher(ctx.request)
    if dispatcher is not None:
        dispatcher.wake()
