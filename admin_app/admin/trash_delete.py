"""Delete moves trashable records to the trash (`admin_app.trash`), through the same hooks.

A view of a trashable model (`admin_app.db.Trashable`) keeps starlette-admin's delete
contract: `before_delete` for each row (which may refuse), `after_delete`, and
`after_delete_committed` once the request commits (the live feed and webhooks say
"deleted"), all in a savepoint. Only what happens to the rows differs: they and their
owned children get one trash batch, recorded in the audit log as `trash`. The batch is
kept for the request, so the message after the delete can offer Undo.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette_admin.helpers import on_commit

from admin_app.admin import compat
from admin_app.admin.delete_page import DeleteActionsMixin
from admin_app.audit.context import audit_as
from admin_app.state import get_session
from admin_app.trash.service import is_trashable, new_batch, trash

UNDO_KEY = "trash_undo"
"""The session key of the last delete's batch, which the next page offers to undo."""


class TrashDeleteMixin(DeleteActionsMixin):
    """`delete` for views of trashable models: to the trash, with the owned children."""

    @property
    def trashable(self) -> bool:
        """Whether this view's deletes go to the trash."""
        return is_trashable(self.model)

    async def delete(self, request: Request, pks: list[Any]) -> int | None:
        """Move the rows keyed `pks` (in the user's reach) and their children to the trash."""
        if not self.trashable:
            return await super().delete(request, pks)
        db = get_session(request)
        objs = await self.find_by_pks(request, pks)
        batch = new_batch()
        keyed = [(await self.get_pk_value(request, obj), obj) for obj in objs]
        async with db.begin_nested():
            for pk, obj in keyed:
                await compat.emit_before_delete(self, request, pk, obj)
            with audit_as("trash", f"batch {batch}"):
                await trash(db, self.model, objs, batch)
        for pk, obj in keyed:
            await compat.emit_after_delete(self, request, pk, obj)
            on_commit(request, self._after_commit(request, pk, obj))
        if objs:
            request.state.trash_batch = batch
        return len(objs)

    async def delete_confirmed(self, request: Request, pks: list[Any]) -> str:
        """Delete (`delete`) and say so; for the trash, say where the rows went, and
        offer Undo on the next page."""
        done = await super().delete_confirmed(request, pks)
        if getattr(request.state, "trash_batch", None) is None:
            return done
        moved = done.replace("successfully deleted", "moved to the trash")
        self.offer_undo(request, moved)
        return moved

    def _after_commit(self, request: Request, pk: Any, obj: Any) -> Callable[[], Any]:
        return lambda: compat.emit_after_delete_committed(self, request, pk, obj)

    def offer_undo(self, request: Request, label: str) -> None:
        """Remember the request's trash batch, so the next page offers to undo it."""
        batch = getattr(request.state, "trash_batch", None)
        if batch is not None:
            request.session[UNDO_KEY] = {"key": str(self.key), "batch": batch, "label": label}


def pop_undo(request: Request) -> dict[str, str] | None:
    """The delete the page shown now may offer to undo, once (a template global)."""
    undo = request.session.pop(UNDO_KEY, None) if "session" in request.scope else None
    return undo if isinstance(undo, dict) else None
