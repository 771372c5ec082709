"""The outbox worker: retries what is due, in the web process or as `admin-app worker`.

The loop claims a batch, sends it, and goes straight on while batches come back
full; otherwise it waits `EMAIL_POLL_INTERVAL` seconds, or less when woken (a
resend in the admin wakes it). Any error is logged and the loop carries on: a
database or SMTP outage must not end the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from admin_app.email.delivery import Mailer
from admin_app.web.errors import is_database_unavailable
from admin_app.work_queue import wait_for_work

log = logging.getLogger(__name__)


class Worker:
    """Runs `Mailer.deliver_batch` until stopped."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self.settings = mailer.settings

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver due messages until `stop` is set."""
        log.info(
            "email worker %s: sending through %s, batches of %d, lease %.0fs",
            self.mailer.name,
            self.mailer.transport.description,
            self.settings.email_batch_size,
            self.settings.email_lease,
        )
        while not stop.is_set():
            claimed = await self._step()
            if claimed < self.settings.email_batch_size:
                await self._wait(stop)
        log.info("email worker %s: stopped", self.mailer.name)

    async def run_until_idle(self) -> int:
        """Deliver until nothing is due (or the breaker opens); return how many were claimed."""
        total = 0
        while not self.mailer.stopping:
            claimed = await self._step()
            if not claimed:
                break
            total += claimed
        return total

    async def _step(self) -> int:
        try:
            return await self.mailer.deliver_batch()
        except Exception as error:
            if is_database_unavailable(error):  # expected during an outage: no traceback
                log.warning("email worker: database unavailable, retrying: %s", error)
            else:
                log.exception("email worker: a batch failed; retrying after the poll interval")
            return 0

    async def _wait(self, stop: asyncio.Event) -> None:
        await wait_for_work(stop, self.mailer.wakeup, self.settings.email_poll_interval)


@contextlib.asynccontextmanager
async def running_worker(mailer: Mailer, *, enabled: bool) -> AsyncIterator[None]:
    """Run the worker as a task for the duration of the block (the app's lifespan)."""
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(mailer).run(stop)) if enabled else None
    try:
        yield
    finally:
        stop.set()
        mailer.stopping = True
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=mailer.settings.smtp_timeout + 5)
            except TimeoutError:
                log.warning("email worker did not stop in time; cancelled")
        await mailer.aclose()
