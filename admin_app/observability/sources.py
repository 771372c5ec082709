"""Gauges read from the database at scrape time: shared truth across processes and replicas.

A value that lives in PostgreSQL (sessions, queued emails) is the same whichever
worker or replica is scraped, so it is read there rather than counted in memory.
`default_sources` lists the ones `create_app` registers.

The email outbox is one: alert on `admin_app_email_outbox_messages{status="pending"}`
staying high (depth), `admin_app_email_outbox_retrying` growing (failed attempts
awaiting a retry), or `{status="dead"}` growing (given up). A worker that sends in
another process needs no metrics of its own: the table is the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from enum import Enum

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from admin_app.db import table_of, utcnow
from admin_app.models import AdminSession, OutboxMessage, OutboxStatus
from admin_app.observability.metrics import GaugeSource, SourceReader
from admin_app.settings import Settings


def rows_by_column(name: str, documentation: str, table: Table, column: str) -> GaugeSource:
    """A gauge of `table`'s row count per value of `column` (e.g. messages per status)."""
    col = table.c[column]

    async def read(connection: AsyncConnection) -> Mapping[tuple[str, ...], float]:
        rows = await connection.execute(select(col, func.count()).group_by(col))
        return {(_label(value),): float(count) for value, count in rows}

    return GaugeSource(name, documentation, read, labelnames=(column,))


def active_sessions(settings: Settings) -> GaugeSource:
    """Admin login sessions that are neither revoked, expired nor idle too long."""
    idle = timedelta(seconds=settings.session_idle_timeout)
    sessions = table_of(AdminSession)

    async def read(connection: AsyncConnection) -> Mapping[tuple[str, ...], float]:
        now = utcnow()
        count = await connection.scalar(
            select(func.count())
            .select_from(sessions)
            .where(
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
                sessions.c.last_seen_at > now - idle,
            )
        )
        return {(): float(count or 0)}

    return GaugeSource(
        "admin_app_admin_sessions_active", "Admin login sessions currently valid.", read
    )


def outbox_messages() -> GaugeSource:
    """Unsent email by status; sent messages pile up forever, so they are not counted."""
    outbox = table_of(OutboxMessage)

    async def read(connection: AsyncConnection) -> Mapping[tuple[str, ...], float]:
        rows = await connection.execute(
            select(outbox.c.status, func.count())
            .where(outbox.c.status != OutboxStatus.SENT.value)
            .group_by(outbox.c.status)
        )
        counts: dict[tuple[str, ...], float] = {("pending",): 0.0, ("dead",): 0.0}
        counts.update({(_label(status),): float(n) for status, n in rows})
        return counts

    return GaugeSource(
        "admin_app_email_outbox_messages",
        "Email not yet delivered, by status: pending (queue depth) and dead (given up).",
        read,
        labelnames=("status",),
    )


def outbox_retrying() -> GaugeSource:
    """Pending email that has failed at least once and waits for its next attempt."""
    outbox = table_of(OutboxMessage)

    async def read(connection: AsyncConnection) -> Mapping[tuple[str, ...], float]:
        count = await connection.scalar(
            select(func.count())
            .select_from(outbox)
            .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.attempts > 0)
        )
        return {(): float(count or 0)}

    return GaugeSource(
        "admin_app_email_outbox_retrying",
        "Email whose delivery failed and is waiting to be retried.",
        read,
    )


def default_sources(settings: Settings) -> list[GaugeSource]:
    """The sources every app reads at scrape time."""
    return [active_sessions(settings), outbox_messages(), outbox_retrying()]


def _label(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


__all__ = ["GaugeSource", "SourceReader", "active_sessions", "default_sources", "rows_by_column"]
