"""Reading the log: an object's history, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.models import AuditEntry

HISTORY_LIMIT = 50

# Every detail page runs this: built once, with the values bound per call.
_HISTORY = (
    select(AuditEntry)
    .where(AuditEntry.model == bindparam("model"), AuditEntry.object_pk == bindparam("pk"))
    .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    .limit(bindparam("limit"))
)


async def object_history(
    db: AsyncSession, table: str, pk: str, limit: int = HISTORY_LIMIT
) -> Sequence[AuditEntry]:
    """The latest log entries about one record."""
    params = {"model": table, "pk": pk, "limit": limit}
    return (await db.scalars(_HISTORY, params)).all()
