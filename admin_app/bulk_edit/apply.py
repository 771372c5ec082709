"""Applying a bulk edit: batches of rows, each in its own short transaction, all in one change set.

Each batch locks only its own rows (`SELECT … FOR UPDATE` on PostgreSQL), checks them,
writes them, and logs one audit entry per changed row, all sharing the edit's change
set, so the audit log can undo the whole edit at once (`audit.change_sets`). No lock
is held across batches, none on the whole table.

How a batch writes depends on the view. A view whose edits run hooks of its own
(`before_edit`, `after_edit`: an order's "shipped" email, an account's sessions ended
when it is deactivated) gets each row saved as its edit form saves it: the hooks, then
a flush (the ORM's version check and the audit recorder), in a savepoint per row, and
a hook's refusal skips that row with its message. Every other view gets one `UPDATE`
per batch, and its audit entries written beside it (`recorder.write_entries`, so
webhooks follow as for any save): the 100,000-row case.

A row is skipped, and listed with the reason, when its version moved since the preview
(someone else changed it: it is never overwritten), when it is gone or now outside the
user's row scope, or when the view refuses its change (`change_refusal`). On SQLite,
which takes no row locks, the write itself checks each row's version once more.
"""

from __future__ import annotations

import inspect as pyinspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError

from admin_app.admin.base import AppModelView
from admin_app.admin.permissions import PermissionsMixin
from admin_app.audit.context import audit_as, change_set
from admin_app.audit.recorder import entry, logged_value, write_entries
from admin_app.auth.permissions import NO_GRANTS, Grants
from admin_app.bulk_edit.plan import Plan, is_versioned, pk_column
from admin_app.db import table_of
from admin_app.models import AuditEntry
from admin_app.settings import Settings

log = logging.getLogger(__name__)

BATCH = 1_000
"""Rows per transaction: short enough that no lock is held for long."""

SHOWN_SKIPS = 200
"""Skipped rows listed on the result page; the count covers them all."""

CHANGED = "changed by someone else since the preview"
GONE = "no longer exists, or is now outside what you may change"


@dataclass(frozen=True)
class Skip:
    """A row the edit left alone, and why."""

    pk: str
    name: str
    reason: str


@dataclass
class Outcome:
    """What an apply did so far."""

    done: int = 0
    changed: int = 0
    skipped: int = 0
    first_skips: list[Skip] = field(default_factory=list)
    change_set: str = ""
    entry_id: int | None = None
    """An audit entry of the change set: where its undo is."""
    longest_batch: float = 0.0
    """Seconds of the longest batch transaction (the longest any row stayed locked)."""

    def skip(self, found: Skip) -> None:
        self.skipped += 1
        if len(self.first_skips) < SHOWN_SKIPS:
            self.first_skips.append(found)


Step = Callable[[Outcome, list[str]], Awaitable[None]]
"""Called after each committed batch with the outcome so far and the batch's changed keys."""


def row_by_row(view: AppModelView) -> bool:
    """Whether the view's edits run hooks of its own, so each row is saved as its form is."""
    own = type(view)
    return any(getattr(own, hook) is not getattr(AppModelView, hook) for hook in HOOKS)


HOOKS = ("before_edit", "after_edit")


@dataclass
class Applier:
    """Applies plans of one view as one user: `state` is what their request carries
    (grants, identity, settings, services), given to each batch's own request."""

    maker: async_sessionmaker[AsyncSession]
    view: AppModelView
    state: dict[str, Any]

    @property
    def settings(self) -> Settings:
        settings: Settings = self.state["settings"]
        return settings

    @property
    def grants(self) -> Grants:
        grants: Grants = self.state.get("grants", NO_GRANTS)
        return grants

    async def apply(self, plan: Plan, step: Step | None = None) -> Outcome:
        """Write the plan, batch by batch; returns what was changed and skipped."""
        outcome = Outcome()
        note = f"bulk edit of {len(plan.pks):,} {self.view.key} row(s)"
        with change_set() as set_id, audit_as("update", note):
            outcome.change_set = set_id
            for keys, versions in _batches(plan):
                started = time.monotonic()
                async with self.maker() as session:
                    request = self.request(session)
                    async with session.begin():
                        changed = await self._batch(request, plan, keys, versions, outcome)
                outcome.longest_batch = max(outcome.longest_batch, time.monotonic() - started)
                await _committed(request)
                outcome.done += len(keys)
                if step is not None:
                    await step(outcome, changed)
        outcome.entry_id = await self._first_entry(outcome.change_set)
        return outcome

    def request(self, session: AsyncSession) -> Request:
        """A request as the user's edit form would make, on `session`."""
        state = {
            **self.state,
            "session": session,
            "action": RequestAction.EDIT,
            "on_commit_callbacks": [],
        }
        scope = {"type": "http", "method": "POST", "path": "/bulk-edit", "headers": []}
        return Request({**scope, "query_string": b"", "state": state})

    async def _batch(
        self,
        request: Request,
        plan: Plan,
        keys: Sequence[Any],
        versions: Sequence[int] | None,
        outcome: Outcome,
    ) -> list[str]:
        session: AsyncSession = request.state.session
        pk = pk_column(self.view)
        scoped = self.view.scope_query(request, select(self.view.model), self.grants)
        query = scoped.where(pk.in_(keys)).with_for_update(of=self.view.model)
        found = {getattr(obj, pk.key): obj for obj in await session.scalars(query)}
        expected = dict(zip(keys, versions, strict=True)) if versions is not None else {}
        ready: list[Any] = []
        for key in keys:
            obj = found.get(key)
            reason = await self._refusal(request, obj, expected.get(key))
            if reason:
                outcome.skip(Skip(str(key), str(obj) if obj is not None else f"#{key}", reason))
            else:
                ready.append(obj)
        if row_by_row(self.view):
            changed = await self._each(request, plan, ready, outcome)
        else:
            changed = await self._all(session, plan, ready, outcome)
        outcome.changed += len(changed)
        return [str(getattr(obj, pk.key)) for obj in changed]

    async def _refusal(self, request: Request, obj: Any, version: int | None) -> str:
        if obj is None:
            return GONE
        if version is not None and obj.version != version:
            return CHANGED
        if type(self.view).change_refusal is PermissionsMixin.change_refusal:
            return ""  # the view refuses nothing per row: no call per row
        return await self.view.change_refusal(request, obj) or ""

    async def _each(
        self, request: Request, plan: Plan, ready: list[Any], outcome: Outcome
    ) -> list[Any]:
        """Save each row as its edit form does: the view's hooks, then a flush."""
        session: AsyncSession = request.state.session
        changed = []
        for obj in ready:
            name, key = str(obj), str(getattr(obj, pk_column(self.view).key))
            try:
                async with session.begin_nested():
                    for field_name, value in plan.values.items():
                        setattr(obj, field_name, value)
                    await self.view.before_edit(request, dict(plan.values), obj)
                    await session.flush()
            except FormValidationError as refused:
                session.expire(obj)  # nothing of the refused row is flushed later
                outcome.skip(Skip(key, name, _first_message(refused)))
                continue
            except StaleDataError:
                session.expire(obj)
                outcome.skip(Skip(key, name, CHANGED))
                continue
            await self.view.after_edit(request, obj)
            changed.append(obj)
        return changed

    async def _all(
        self, session: AsyncSession, plan: Plan, ready: list[Any], outcome: Outcome
    ) -> list[Any]:
        """Set the values on every ready row with one `UPDATE`, and log each row."""
        key = pk_column(self.view).key
        written = await self._update(session, plan, ready)
        for obj in ready:
            if getattr(obj, key) not in written:  # SQLite: changed between read and write
                outcome.skip(Skip(str(getattr(obj, key)), str(obj), CHANGED))
        changed = [obj for obj in ready if getattr(obj, key) in written]
        await session.run_sync(_log, plan.values, changed)
        return changed

    async def _update(self, session: AsyncSession, plan: Plan, ready: list[Any]) -> set[Any]:
        """Set the values on the `ready` rows (still at their read version); their keys."""
        if not ready:
            return set()
        columns = inspect(self.view.model).columns
        key = columns[pk_column(self.view).key]
        values: dict[Any, Any] = {columns[name]: v for name, v in plan.values.items()}
        statement = update(table_of(self.view.model))
        keys = [getattr(obj, key.key) for obj in ready]
        if is_versioned(self.view):
            version = columns["version"]
            values[version] = version + 1
        if is_versioned(self.view) and session.get_bind().dialect.name != "postgresql":
            # No row locks here: the UPDATE checks each row's version itself.
            pairs = [(k, obj.version) for k, obj in zip(keys, ready, strict=True)]
            statement = statement.where(tuple_(key, version).in_(pairs))
        else:  # PostgreSQL: the rows are locked at the versions just read
            statement = statement.where(key.in_(keys))
        result = await session.execute(statement.values(values).returning(key))
        return set(result.scalars())

    async def _first_entry(self, set_id: str) -> int | None:
        async with self.maker() as session:
            stmt = select(func.min(AuditEntry.id)).where(AuditEntry.change_set == set_id)
            found: int | None = await session.scalar(stmt)
            return found


def _log(session: Session, values: dict[str, Any], changed: list[Any]) -> None:
    """One audit entry per changed row, in the batch's transaction (run synchronously, so
    a name that reads a relation can load it)."""
    logged = []
    for obj in changed:
        changes = {
            name: [logged_value(name, getattr(obj, name)), logged_value(name, value)]
            for name, value in values.items()
            if getattr(obj, name) != value
        }
        if changes:
            logged.append(("update", entry("update", obj, changes)))
    if logged:
        write_entries(session.connection(), logged)


async def _committed(request: Request) -> None:
    """Run what the batch's hooks asked to run once it is committed (an email sent)."""
    for callback in request.state.on_commit_callbacks:
        try:
            result = callback()
            if pyinspect.isawaitable(result):
                await result
        except Exception:  # the batch is committed; a side effect failing must not undo it
            log.exception("bulk edit: an after-commit step failed")


def _first_message(refused: FormValidationError) -> str:
    messages = [str(message) for message in refused.errors.values()]
    return messages[0] if messages else "refused"


def _batches(plan: Plan) -> Iterator[tuple[list[Any], list[int] | None]]:
    for first in range(0, len(plan.pks), BATCH):
        keys = plan.pks[first : first + BATCH]
        versions = plan.versions[first : first + BATCH] if plan.versions is not None else None
        yield keys, versions
