"""The delivery outbox's database side: claim due deliveries under a lease, record attempts.

The queue itself (lease, SKIP LOCKED, backoff, release, redeliver, counts) is
`admin_app.work_queue`, shared with the email outbox; this module says what a delivery
carries and what an attempt records. No function commits; the caller does.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app import work_queue
from admin_app.db import utcnow
from admin_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from admin_app.settings import Settings
from admin_app.work_queue import WorkQueue

ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds, with what it needs to send it."""

    id: int
    endpoint_id: int
    event_id: str
    body: str
    attempts: int


@dataclass(frozen=True)
class Attempt:
    """What one POST came to."""

    status: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


QUEUE = WorkQueue(WebhookDelivery, DeliveryStatus, DeliveryStatus.PENDING, DeliveryStatus.DELIVERED)
"""The deliveries as a durable queue (claim, lease, release, redeliver, counts)."""


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after failed attempt number `attempts`: doubling from `WEBHOOK_BACKOFF`, capped."""
    return work_queue.backoff(settings.webhook_backoff, settings.webhook_backoff_max, attempts)


async def claim(
    db: AsyncSession, *, worker: str, lease: timedelta, limit: int, skip: Collection[int]
) -> list[Claimed]:
    """Reserve up to `limit` due deliveries to enabled endpoints not in `skip` (busy, or
    behind an open breaker), oldest due first. The caller commits."""
    now = utcnow()
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    picked = (
        select(WebhookDelivery.id)
        .where(QUEUE.claimable(now), WebhookDelivery.next_attempt_at <= now)
        .where(WebhookDelivery.endpoint_id.in_(enabled.scalar_subquery()))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if skip:
        picked = picked.where(WebhookDelivery.endpoint_id.not_in(list(skip)))
    # Idle most of the time: a read first, so an idle poll never takes SQLite's write lock.
    if await db.scalar(picked.limit(1)) is None:
        return []
    stmt = QUEUE.claim(db, picked, worker=worker, lease=lease).returning(
        WebhookDelivery.id,
        WebhookDelivery.endpoint_id,
        WebhookDelivery.event_id,
        WebhookDelivery.body,
        WebhookDelivery.attempts,
    )
    rows = (await db.execute(stmt)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda claimed: claimed.id)


async def endpoints(db: AsyncSession, ids: Collection[int]) -> dict[int, tuple[str, str]]:
    """(url, stored secret) of each endpoint."""
    query = select(WebhookEndpoint.id, WebhookEndpoint.url, WebhookEndpoint.secret)
    rows = await db.execute(query.where(WebhookEndpoint.id.in_(list(ids))))
    return {row[0]: (row[1], row[2]) for row in rows}


def _attempt_values(attempt: Attempt) -> dict[str, object]:
    return {
        "locked_until": None,
        "last_status": attempt.status,
        "last_error": attempt.error[:ERROR_LENGTH],
        "last_duration_ms": attempt.duration_ms,
        "last_attempt_at": utcnow(),
    }


async def mark_delivered(db: AsyncSession, delivery_id: int, attempt: Attempt) -> None:
    """The endpoint accepted the event: done, whoever held the lease."""
    values = {**_attempt_values(attempt), "status": DeliveryStatus.DELIVERED}
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(**values, delivered_at=utcnow())
        .execution_options(synchronize_session=False)
    )


async def mark_failed(
    db: AsyncSession, settings: Settings, claimed: Claimed, attempt: Attempt, *, worker: str
) -> DeliveryStatus:
    """Schedule a retry with backoff, or mark the delivery dead after its last attempt."""
    dead = claimed.attempts >= settings.webhook_max_attempts
    status = DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claimed.id, *QUEUE.held_by(worker))
        .values(
            **_attempt_values(attempt),
            status=status,
            next_attempt_at=utcnow() + backoff(settings, claimed.attempts),
        )
        .execution_options(synchronize_session=False)
    )
    return status


async def release(db: AsyncSession, worker: str, ids: list[int]) -> None:
    """Give back claimed deliveries that were never tried; the attempt does not count."""
    await QUEUE.release(db, worker, ids)


async def redeliver(db: AsyncSession, ids: list[int]) -> int:
    """Queue dead (or waiting) deliveries again, due now, with a fresh set of attempts.
    Delivered ones are left alone."""
    return await QUEUE.requeue(db, ids)


async def status_counts(db: AsyncSession) -> dict[str, int]:
    """How many deliveries are pending, delivered and dead."""
    return await QUEUE.status_counts(db)
