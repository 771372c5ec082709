"""Reading the log: an object's history, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.models import AuditEntry

HISTORY_LIMIT = 50


async def object_history(
    db: AsyncSession, table: str, pk: str, limit: int = HISTORY_LIMIT
) -> Sequence[AuditEntry]:
    """The latest log entries about one record."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.model == table, AuditEntry.object_pk == pk)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return (await db.scalars(stmt)).all()
