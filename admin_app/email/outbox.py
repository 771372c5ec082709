"""The outbox's database side: queue a message, claim due ones under a lease, record results.

Every function takes the session or connection it works in; none commits on its own
except where the name says so, so `enqueue` joins the caller's transaction and a
rolled-back change leaves no message behind.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app import work_queue
from admin_app.db import utcnow
from admin_app.email.outgoing import Outgoing
from admin_app.email.rendering import render
from admin_app.email.secret_links import SecretLink
from admin_app.models import OutboxMessage, OutboxStatus
from admin_app.settings import Settings
from admin_app.work_queue import WorkQueue

APP_NAME = "Store Admin"
"""How the app names itself in emails (the admin's title)."""

ERROR_LENGTH = 2000


def new_message_id(settings: Settings) -> str:
    """A unique `Message-ID`, in the From address's domain, fixed for the row's life."""
    domain = parseaddr(settings.email_from)[1].rpartition("@")[2] or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


async def enqueue(
    session: AsyncSession,
    settings: Settings,
    *,
    to: str,
    kind: str,
    context: dict[str, Any],
    secret_link: SecretLink | None = None,
) -> OutboxMessage:
    """Render message `kind` for `to` and add it to the outbox in the caller's transaction.

    With `secret_link`, the message is rendered with its note as `link`, and the sender
    mints the link when it sends the message (`admin_app.email.secret_links`).
    """
    if secret_link is not None:
        context = {**context, "link": secret_link.note}
    rendered = render(kind, {"app_name": APP_NAME, **context})
    if secret_link is not None and secret_link.note not in rendered.text:
        raise ValueError(f"templates/email/{kind}.txt does not show its link")
    row = OutboxMessage(
        message_id=new_message_id(settings),
        kind=kind,
        recipient=to,
        subject=rendered.subject[:300],
        text_body=rendered.text,
        html_body=rendered.html,
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        created_at=utcnow(),
        link_purpose=secret_link.purpose if secret_link else None,
        link_user_id=secret_link.user_id if secret_link else None,
        link_base=secret_link.base if secret_link else None,
    )
    session.add(row)
    await session.flush()
    return row


QUEUE = WorkQueue(OutboxMessage, OutboxStatus, OutboxStatus.PENDING, OutboxStatus.SENT)
"""The outbox as a durable queue (claim, lease, release, resend, counts)."""


def backoff(settings: Settings, attempts: int) -> timedelta:
    """The wait after failed attempt number `attempts`: doubling from `EMAIL_BACKOFF`, capped."""
    return work_queue.backoff(settings.email_backoff, settings.email_backoff_max, attempts)


async def claim(
    db: AsyncSession,
    *,
    worker: str,
    lease: timedelta,
    limit: int,
    ids: list[int] | None = None,
) -> list[Outgoing]:
    """Reserve up to `limit` due messages (or exactly `ids`, if pending) for `worker`.
    The caller commits."""
    now = utcnow()
    picked = select(OutboxMessage.id).where(QUEUE.claimable(now))
    if ids is None:
        picked = picked.where(OutboxMessage.next_attempt_at <= now)
        picked = picked.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    else:
        picked = picked.where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
    stmt = QUEUE.claim(db, picked.limit(limit), worker=worker, lease=lease).returning(
        OutboxMessage.id,
        OutboxMessage.message_id,
        OutboxMessage.recipient,
        OutboxMessage.subject,
        OutboxMessage.text_body,
        OutboxMessage.html_body,
        OutboxMessage.attempts,
        OutboxMessage.link_purpose,
        OutboxMessage.link_user_id,
        OutboxMessage.link_base,
    )
    rows = (await db.execute(stmt)).all()
    return sorted((Outgoing(*row) for row in rows), key=lambda message: message.id)


async def mark_sent(db: AsyncSession, message_id: int) -> None:
    """The server accepted the message: it is done, whoever held the lease."""
    await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status=OutboxStatus.SENT, sent_at=utcnow(), locked_until=None, last_error="")
        .execution_options(synchronize_session=False)
    )


async def mark_failed(
    db: AsyncSession,
    settings: Settings,
    message: Outgoing,
    *,
    worker: str,
    error: str,
    permanent: bool = False,
) -> OutboxStatus:
    """Schedule a retry with backoff, or mark the message dead after its last attempt."""
    dead = permanent or message.attempts >= settings.email_max_attempts
    status = OutboxStatus.DEAD if dead else OutboxStatus.PENDING
    await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, *QUEUE.held_by(worker))
        .values(
            status=status,
            locked_until=None,
            last_error=error[:ERROR_LENGTH],
            next_attempt_at=utcnow() + backoff(settings, message.attempts),
        )
        .execution_options(synchronize_session=False)
    )
    return status


async def release(db: AsyncSession, worker: str, ids: list[int]) -> None:
    """Give back claimed messages that were never tried; the attempt does not count."""
    await QUEUE.release(db, worker, ids)


async def resend(db: AsyncSession, ids: list[int]) -> int:
    """Queue dead (or waiting) messages again, due now, with a fresh set of attempts.

    Sent messages are left alone: they were delivered, and mail clients drop a second
    copy with the same Message-ID anyway.
    """
    return await QUEUE.requeue(db, ids)


async def status_counts(db: AsyncSession) -> dict[str, int]:
    """How many messages are pending, sent and dead."""
    return await QUEUE.status_counts(db)
