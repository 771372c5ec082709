"""The delivery outbox's database side: claim due deliveries under a lease, record attempts.

The same machinery as the email outbox (`admin_app.email.outbox`): rows picked with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, a lease that a dead worker's rows outlive,
doubling backoff, dead after the last attempt, and a redeliver that starts over.
No function commits; the caller does.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.db import utcnow
from admin_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from admin_app.settings import Settings

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


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after failed attempt number `attempts`: doubling from `WEBHOOK_BACKOFF`, capped."""
    seconds = settings.webhook_backoff * 2 ** min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(seconds, settings.webhook_backoff_max))


def _claimable(now: datetime) -> ColumnElement[bool]:
    lease_free = or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now)
    due = WebhookDelivery.next_attempt_at <= now
    return and_(WebhookDelivery.status == DeliveryStatus.PENDING, lease_free, due)


async def claim(
    db: AsyncSession, *, worker: str, lease: timedelta, limit: int, skip: Collection[int]
) -> list[Claimed]:
    """Reserve up to `limit` due deliveries to enabled endpoints not in `skip` (busy, or
    behind an open breaker), oldest due first. The caller commits."""
    now = utcnow()
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    picked = (
        select(WebhookDelivery.id)
        .where(_claimable(now), WebhookDelivery.endpoint_id.in_(enabled.scalar_subquery()))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    if skip:
        picked = picked.where(WebhookDelivery.endpoint_id.not_in(list(skip)))
    # Idle most of the time: a read first, so an idle poll never takes SQLite's write lock.
    if await db.scalar(picked.with_only_columns(WebhookDelivery.id).limit(1)) is None:
        return []
    if db.get_bind().dialect.name == "postgresql":
        picked = picked.with_for_update(skip_locked=True)
    stmt = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(picked.scalar_subquery()))
        .values(locked_until=now + lease, locked_by=worker, attempts=WebhookDelivery.attempts + 1)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookDelivery.event_id,
            WebhookDelivery.body,
            WebhookDelivery.attempts,
        )
        .execution_options(synchronize_session=False)
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
        .where(*_held_by(worker), WebhookDelivery.id == claimed.id)
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
    if not ids:
        return
    await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), *_held_by(worker))
        .values(
            locked_until=None,
            attempts=case((WebhookDelivery.attempts > 0, WebhookDelivery.attempts - 1), else_=0),
        )
        .execution_options(synchronize_session=False)
    )


def _held_by(worker: str) -> list[ColumnElement[bool]]:
    return [WebhookDelivery.locked_by == worker, WebhookDelivery.status == DeliveryStatus.PENDING]


async def redeliver(db: AsyncSession, ids: list[int]) -> int:
    """Queue dead (or waiting) deliveries again, due now, with a fresh set of attempts.
    Delivered ones are left alone."""
    result = await db.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status != DeliveryStatus.DELIVERED)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            locked_until=None,
            locked_by=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def status_counts(db: AsyncSession) -> dict[str, int]:
    """How many deliveries are pending, delivered and dead."""
    rows = await db.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    )
    counts = {status.value: 0 for status in DeliveryStatus}
    counts.update({str(DeliveryStatus(row[0]).value): int(row[1]) for row in rows})
    return counts
