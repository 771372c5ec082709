"""Reading the log: an object's history, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.db import read_plain
from admin_app.models import AuditEntry

HISTORY_LIMIT = 50

# Every detail page asks, and most records have no history: their ids come first (a
# query of plain values, built once, costs a third of an ORM one), and the entries are
# loaded only if there are any.
_HISTORY_IDS = (
    select(AuditEntry.id)
    .where(AuditEntry.model == bindparam("model"), AuditEntry.object_pk == bindparam("pk"))
    .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    .limit(bindparam("limit"))
)


async def object_history(
    db: AsyncSession, table: str, pk: str, limit: int = HISTORY_LIMIT
) -> Sequence[AuditEntry]:
    """The latest log entries about one record."""
    rows = await read_plain(db, _HISTORY_IDS, {"model": table, "pk": pk, "limit": limit})
    ids = [int(row[0]) for row in rows]
    if not ids:
        return []
    entries = (await db.scalars(select(AuditEntry).where(AuditEntry.id.in_(ids)))).all()
    place = {pk: n for n, pk in enumerate(ids)}
    return sorted(entries, key=lambda entry: place[entry.id])
