"""A durable work queue kept in a table: the email outbox and the webhook deliveries.

A row is pending until a worker claims it under a lease (`locked_by`, `locked_until`):
on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait for nor
take each other's rows; SQLite has a single writer, which makes the same UPDATE atomic
there. A worker that dies leaves its rows to be claimed again once the lease runs out.
A failed attempt is retried after a doubling backoff and the row is dead after its last
attempt; an administrator can queue dead rows again. No function commits: the caller does.

Each queue's own module says what a row carries and what an attempt records; this one
holds what both do alike.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Update, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.db import utcnow


def backoff(base: float, cap: float, attempts: int) -> timedelta:
    """The wait after failed attempt number `attempts`: doubling from `base` seconds, capped."""
    seconds = base * 2 ** min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(seconds, cap))


@dataclass(frozen=True)
class WorkQueue:
    """One table used as a queue. `model` has `id`, `status`, `attempts`,
    `next_attempt_at`, `locked_until` and `locked_by`; `statuses` is its status enum,
    of which `pending` waits for a worker and `finished` is done for good."""

    model: Any
    statuses: type[enum.Enum]
    pending: enum.Enum
    finished: enum.Enum

    def claimable(self, now: datetime) -> ColumnElement[bool]:
        """Pending rows whose lease, if any, has run out."""
        lease_free = or_(self.model.locked_until.is_(None), self.model.locked_until < now)
        return and_(self.model.status == self.pending, lease_free)

    def claim(
        self, db: AsyncSession, picked: Select[Any], *, worker: str, lease: timedelta
    ) -> Update:
        """The UPDATE that leases the rows `picked` selects (ids) to `worker` and counts
        the attempt; the caller adds the columns it needs with `.returning(...)`."""
        if db.get_bind().dialect.name == "postgresql":
            picked = picked.with_for_update(skip_locked=True)
        return (
            update(self.model)
            .where(self.model.id.in_(picked.scalar_subquery()))
            .values(
                locked_until=utcnow() + lease,
                locked_by=worker,
                attempts=self.model.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )

    def held_by(self, worker: str) -> list[ColumnElement[bool]]:
        """Rows `worker` still holds: a row done by another since is left alone."""
        return [self.model.locked_by == worker, self.model.status == self.pending]

    async def release(self, db: AsyncSession, worker: str, ids: list[int]) -> None:
        """Give back claimed rows that were never tried; the attempt does not count."""
        if not ids:
            return
        attempts = self.model.attempts
        await db.execute(
            update(self.model)
            .where(self.model.id.in_(ids), *self.held_by(worker))
            .values(locked_until=None, attempts=case((attempts > 0, attempts - 1), else_=0))
            .execution_options(synchronize_session=False)
        )

    async def requeue(self, db: AsyncSession, ids: list[int]) -> int:
        """Queue dead (or waiting) rows again, due now, with a fresh set of attempts.
        Finished rows are left alone. Returns how many were queued."""
        result = await db.execute(
            update(self.model)
            .where(self.model.id.in_(ids), self.model.status != self.finished)
            .values(
                status=self.pending,
                attempts=0,
                next_attempt_at=utcnow(),
                locked_until=None,
                locked_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def status_counts(self, db: AsyncSession) -> dict[str, int]:
        """How many rows are in each status (every status named, zeros included)."""
        rows = await db.execute(select(self.model.status, func.count()).group_by(self.model.status))
        counts = {str(status.value): 0 for status in self.statuses}
        counts.update({str(self.statuses(row[0]).value): int(row[1]) for row in rows})
        return counts


async def wait_for_work(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    """A worker's pause between polls: up to `seconds`, or less when woken or
    stopped. The wake-up is cleared, so the next pause waits again."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        wakeup.clear()
