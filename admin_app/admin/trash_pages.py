"""Each trashable model's trash: what was deleted, Restore, and Delete for good.

- `GET /admin/<key>/trash` lists the model's trashed records in the user's scope, the
  latest first (`TRASH_PAGE` of them), for anyone who may delete them.
- `POST /admin/<key>/trash/restore` brings back the posted `pks`, or the records of the
  posted `batch` (the Undo after a delete), with the children that went with them. A
  record whose unique value (a SKU, an email) a live record has taken since is not
  restored: the page asks for a new value at the field, with a 409, and restores
  nothing until every clash is solved.
- `GET|POST /admin/<key>/trash/purge` is the delete confirmation page (what goes with
  them, what blocks them), then the delete for good, for holders of `<key>:purge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, inspect
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.flash import flash
from starlette_admin.routing import route
from starlette_admin.types import RequestAction

from admin_app.admin import compat
from admin_app.admin.delete_page import DeletePages
from admin_app.admin.trash_delete import TrashDeleteMixin
from admin_app.audit.context import audit_as
from admin_app.db import INCLUDE_TRASHED
from admin_app.state import get_session
from admin_app.trash.service import restore, unique_clashes

NOT_IN_TRASH = "None of these records is in the trash, or you may not see it."

TRASH_PAGE = 200
"""Records shown on a trash page; older ones are purged by age (`TRASH_RETENTION_DAYS`)."""


class TrashPages(DeletePages):
    """The trash pages' routes, mixed into the admin."""

    @route("/{key}/trash", methods=["GET"], name="trash")
    async def trash_page(self, request: Request) -> Response:
        """The model's trash, latest first."""
        view = self._trash_view(request, "delete")
        rows = await self._trashed(request, view, view.get_list_query(request), TRASH_PAGE)
        return await self._render_trash(request, view, rows)

    @route("/{key}/trash/restore", methods=["POST"], name="trash-restore")
    async def trash_restore(self, request: Request) -> Response:
        """Restore the posted `pks` (or `batch`), unless a unique value now clashes."""
        view = self._trash_view(request, "delete")
        form = await request.form()
        rows = await self._posted(request, view, form)
        clashes = await self._clashes(request, view, rows, form)
        if clashes:
            return await self._render_trash(request, view, rows, clashes, status_code=409)
        with audit_as("restore", f"{len(rows)} {view.key} from the trash"):
            await restore(get_session(request), view.model, rows)
        names = ", ".join([await view.repr(row, request) for row in rows][:3])
        flash(request, f"Restored: {names}{' …' if len(rows) > 3 else ''}.", "success")
        return RedirectResponse(str(request.url_for(f"{self.route_name}:list", key=view.key)), 303)

    @route("/{key}/trash/purge", methods=["GET", "POST"], name="trash-purge")
    async def trash_purge(self, request: Request) -> Response:
        """GET: the confirmation page for `?pks=`. POST: delete them for good."""
        request.state.action = RequestAction.ACTION
        view = self._trash_view(request, "purge")
        get_session(request).info[INCLUDE_TRASHED] = True  # the preview sees the trash
        if request.method == "GET":
            pks = request.query_params.getlist("pks")
        else:
            pks = [str(pk) for pk in (await request.form()).getlist("pks")]
        if not 0 < len(pks) <= view.action_select_all_limit:
            raise HTTPException(400, "Choose the records to delete for good.")
        rows = await self._trashed(request, view, _by_pks(request, view, pks), None)
        pks = [str(inspect(row).identity[0]) for row in rows]  # only what is in the trash
        found = await self._preview(request, view, pks) if pks else None
        if found is None:
            raise HTTPException(404, NOT_IN_TRASH)
        if request.method == "GET" or not found.allowed:
            status = 200 if found.allowed else 409
            return self._render_delete_page(request, view, found, None, status, purge=True)
        try:
            await _purge(request, rows)
        except IntegrityError:
            message = "The database refused the delete; nothing was deleted."
            return self._render_delete_page(request, view, found, message, 409, purge=True)
        flash(request, f"{len(rows)} deleted for good.", "success")
        return RedirectResponse(str(request.url_for(f"{self.route_name}:trash", key=view.key)), 303)

    def _trash_view(self, request: Request, permission: str) -> TrashDeleteMixin:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, TrashDeleteMixin) or not view.trashable:
            raise HTTPException(404, "This model has no trash.")
        allows = getattr(view, "allows", None)
        if not view.is_accessible(request) or not view.can_delete(request):
            raise HTTPException(403)
        if permission == "purge" and (allows is None or not allows(request, "purge")):
            raise HTTPException(403, "Deleting for good needs the purge permission.")
        return view

    async def _trashed(
        self, request: Request, view: TrashDeleteMixin, query: Select[Any], limit: int | None
    ) -> list[Any]:
        """The trashed rows of `query` (the view's scoped list query), latest first."""
        model: Any = view.model
        stmt = (
            query.where(model.deleted_at.is_not(None))
            .order_by(None)
            .order_by(model.deleted_at.desc(), *inspect(model).primary_key)
            .limit(limit)
            .execution_options(**{INCLUDE_TRASHED: True})
        )
        return list((await get_session(request).scalars(stmt)).unique().all())

    async def _posted(self, request: Request, view: TrashDeleteMixin, form: FormData) -> list[Any]:
        query = view.get_list_query(request)
        batch = str(form.get("batch") or "")
        if batch:
            query = query.where(view.model.trash_batch == batch)
        else:
            pks = [str(pk) for pk in form.getlist("pks")][: view.action_select_all_limit]
            query = _by_pks(request, view, pks)
        rows = await self._trashed(request, view, query, view.action_select_all_limit)
        if not rows:
            raise HTTPException(404, NOT_IN_TRASH)
        return rows

    async def _clashes(
        self, request: Request, view: TrashDeleteMixin, rows: Sequence[Any], form: FormData
    ) -> dict[str, dict[str, str]]:
        """`{pk: {field: message}}` for each row a unique value keeps out; a new value
        posted as `<field>-<pk>` is taken first."""
        lowercase = getattr(view, "case_insensitive_unique", ())
        unique = [*getattr(view, "unique_fields", ()), *lowercase]
        found: dict[str, dict[str, str]] = {}
        for row in rows:
            pk = str(inspect(row).identity[0])
            errors = _take_new_values(row, unique, form, pk)
            db = get_session(request)
            for name in await unique_clashes(db, view.model, row, unique, lowercase):
                errors.setdefault(
                    name,
                    f"Another record now has this {name.replace('_', ' ')}. "
                    "Enter a new one to restore this record.",
                )
            if errors:
                found[pk] = errors
        return found

    async def _render_trash(
        self,
        request: Request,
        view: TrashDeleteMixin,
        rows: Sequence[Any],
        clashes: dict[str, dict[str, str]] | None = None,
        status_code: int = 200,
    ) -> Response:
        allows = getattr(view, "allows", None)
        items = [
            {
                "pk": str(inspect(row).identity[0]),
                "name": await view.repr(row, request),
                "deleted_at": row.deleted_at,
                "row": row,
            }
            for row in rows
        ]
        context = {
            "title": f"{view.menu_label}: trash",
            "view": view,
            "items": items,
            "clashes": clashes or {},
            "limit": TRASH_PAGE,
            "can_purge": allows is not None and allows(request, "purge"),
        }
        return compat.template_response(self, request, "trash.html", context, status_code)


def _by_pks(request: Request, view: TrashDeleteMixin, pks: Sequence[str]) -> Select[Any]:
    """The view's scoped query narrowed to the keys `pks` (those that can be keys)."""
    column = inspect(view.model).primary_key[0]
    keys = [key for key in (view.coerce_pk(pk) for pk in pks) if key is not None]
    return view.get_list_query(request).where(column.in_(keys))


def _take_new_values(row: Any, fields: Sequence[str], form: FormData, pk: str) -> dict[str, str]:
    """Set the new values posted for `row`'s unique fields; messages for unusable ones."""
    errors: dict[str, str] = {}
    columns = inspect(type(row)).columns
    for name in fields:
        posted = form.get(f"{name}-{pk}")
        if posted is None:
            continue
        value = str(posted).strip()
        length = getattr(columns[name].type, "length", None)
        if not value or (length is not None and len(value) > length):
            errors[name] = f"Enter a {name.replace('_', ' ')} of 1 to {length or 'any'} characters."
            continue
        setattr(row, name, value)
    return errors


async def _purge(request: Request, rows: Sequence[Any]) -> None:
    """Delete `rows` for good, in a savepoint, logged as `purge`."""
    db = get_session(request)
    async with db.begin_nested():
        with audit_as("purge", f"{len(rows)} from the trash, for good"):
            for row in rows:
                await db.delete(row)
            await db.flush()
