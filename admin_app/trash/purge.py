"""Deleting for good what has been in the trash longer than `TRASH_RETENTION_DAYS`.

Run by the worker (`admin-app worker`, and the web process when `EMAIL_WORKER` is on)
every `PURGE_EVERY` seconds, and by `admin-app purge-trash --older-than 30d`. Rows go in
batches of `batch_size`, each batch its own short transaction with one audit entry
(`purge`, its ids), children before parents (an order's lines before the order), so a
big trash never holds locks for long nor builds one huge transaction. A row the
database refuses to delete (something new refers to it) stops that model's purge with
a warning, rather than failing again on every batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin_app.audit.context import current_actor
from admin_app.db import Base, table_of, utcnow
from admin_app.models import AuditEntry
from admin_app.trash.service import trashable_models

log = logging.getLogger(__name__)

PURGE_BATCH = 500
"""Rows deleted per transaction."""
PURGE_EVERY = 3600.0
"""Seconds between the worker's purges."""
_AGE = re.compile(r"^\s*(\d{1,6})\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


class BadAge(ValueError):
    """An age that `parse_age` cannot read."""


def parse_age(text: str) -> timedelta:
    """`30d`, `12h` or `90m` as a duration; `BadAge` for anything else."""
    match = _AGE.match(text or "")
    if match is None:
        raise BadAge(
            f"--older-than {text!r} is not an age: write a number and d, h or m, such as 30d"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class Purged:
    """What one purge deleted: rows per table, and tables it had to stop at."""

    rows: dict[str, int] = field(default_factory=dict)
    stopped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        done = ", ".join(f"{n} {t}" for t, n in self.rows.items()) or "nothing"
        stopped = f"; stopped at {', '.join(self.stopped)} (see the log)" if self.stopped else ""
        return f"purge-trash: deleted {done}{stopped}"


async def purge_older_than(
    sessions: async_sessionmaker[AsyncSession], age: timedelta, batch_size: int = PURGE_BATCH
) -> Purged:
    """Delete for good every trashed row trashed more than `age` ago, in batches."""
    cutoff = utcnow() - age
    purged = Purged()
    for model in trashable_models():
        try:
            count = await _purge_model(sessions, model, cutoff, batch_size)
        except IntegrityError as error:
            log.warning("purge of %s stopped: %s", table_of(model).name, error.orig)
            purged.stopped.append(table_of(model).name)
            continue
        if count:
            purged.rows[table_of(model).name] = count
    return purged


async def _purge_model(
    sessions: async_sessionmaker[AsyncSession], model: type[Base], cutoff: datetime, size: int
) -> int:
    table = table_of(model)
    pk = table.primary_key.columns[0]
    due = select(pk).where(table.c.deleted_at < cutoff).order_by(pk).limit(size)
    total = 0
    while True:
        async with sessions.begin() as db:
            ids = list((await db.scalars(due)).all())
            if not ids:
                return total
            await db.execute(delete(table).where(pk.in_(ids)))
            await db.execute(insert(table_of(AuditEntry)), [_entry(table.name, ids, cutoff)])
        total += len(ids)


def _entry(table: str, ids: list[Any], cutoff: datetime) -> dict[str, Any]:
    actor = current_actor()
    return {
        "at": utcnow(),
        "user_id": actor.user_id,
        "actor": actor.label,
        "ip": actor.ip,
        "action": "purge",
        "model": table,
        "object_pk": "",
        "object_repr": f"{len(ids)} rows trashed before {cutoff:%Y-%m-%d %H:%M} UTC",
        "changes": {"ids": [str(i) for i in ids]},
        "note": "trash retention",
    }


async def run_purges(
    sessions: async_sessionmaker[AsyncSession],
    retention_days: int,
    stop: asyncio.Event,
    first_after: float = 0.0,
) -> None:
    """Purge after `first_after` seconds, then every `PURGE_EVERY` seconds, until `stop`
    is set (the worker)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), first_after)
    while not stop.is_set():
        try:
            purged = await purge_older_than(sessions, timedelta(days=retention_days))
            if purged.rows:
                log.info("%s", purged)
        except Exception:  # a lost database: try again next time, as the other workers do
            log.exception("trash purge failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), PURGE_EVERY)


@contextlib.asynccontextmanager
async def running_purges(
    sessions: async_sessionmaker[AsyncSession], retention_days: int, *, enabled: bool
) -> AsyncIterator[None]:
    """Run `run_purges` as a task for the duration of the block (the app's lifespan); the
    first purge waits `PURGE_EVERY`, so a starting process serves requests first."""
    stop = asyncio.Event()
    purges = run_purges(sessions, retention_days, stop, first_after=PURGE_EVERY)
    task = asyncio.create_task(purges) if enabled else None
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            await task
