"""Each trashable model's trash: what was deleted, Restore, and Delete for good.

- `GET /admin/<key>/trash` lists every trashed record of the model in the user's scope,
  newest deletion first, a keyset page at a time, with a search box
  (`admin_app.admin.trash_listing`), for anyone who may delete them. Each row has a
  checkbox; "Select all on this page", "Restore selected" and "Delete selected for
  good" send the selection (a plain GET form) to the confirmation pages below.
- `GET /admin/<key>/trash/restore` is the confirmation page of a restore: the records,
  what comes back with them, and those held back because a unique value is taken, each
  with a field for a new value (`admin_app.admin.trash_restore`). `POST` restores the
  posted `pks`, or the records of the posted `batch` (the Undo after a delete): those
  held back stay in the trash and are shown again (409 when nothing could come back).
- `GET|POST /admin/<key>/trash/purge` is the delete confirmation page (what goes with
  them, what blocks them), then the delete for good, for holders of `<key>:purge`.

Every key of a selection must name a trashed record the user may reach; one that does
not (a forged key, a record restored meanwhile) refuses the whole request with a 404,
before anything changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlencode

from markupsafe import Markup
from sqlalchemy import Select, inspect
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext, lazy_gettext
from starlette_admin.routing import route
from starlette_admin.types import RequestAction

from admin_app.admin import compat, trash_listing
from admin_app.admin.delete_page import DeleteActionsMixin, DeletePages
from admin_app.admin.lists import slots
from admin_app.admin.lists.query import ListingMixin
from admin_app.admin.trash_delete import TrashDeleteMixin
from admin_app.admin.trash_restore import RestorePlan, chosen_pks, coming_back, pk_of, plan_restore
from admin_app.audit.context import audit_as
from admin_app.db import INCLUDE_TRASHED, Trashable, seeing_trash
from admin_app.state import get_session
from admin_app.trash.service import restore

NOT_IN_TRASH = lazy_gettext("Some of these records are not in the trash, or you may not see them.")
BATCH_LENGTH = 32
"""The longest name a trash batch can have (`trash_batch`'s column)."""
NOTHING_CHOSEN = "Choose the records first: tick them, or Select all on this page."


class TrashView(ListingMixin, TrashDeleteMixin):
    """What the trash pages need of a view (every trashable `AppModelView` is one)."""


class TrashPages(DeletePages):
    """The trash pages' routes, mixed into the admin."""

    @route("/{key}/trash", methods=["GET"], name="trash")
    async def trash_page(self, request: Request) -> Response:
        """The model's trash, a page at a time, newest deletion first."""
        request.state.action = RequestAction.LIST  # the list's fields answer the search
        view = self._trash_view(request, "delete")
        page = await trash_listing.trash_page(request, view)
        allows = getattr(view, "allows", None)
        context = {
            "title": f"{view.menu_label}: trash",
            "view": view,
            "items": [await _item(request, view, row) for row in page.items],
            "summary": Markup(slots.summary_html(page)),  # noqa: S704 (escaped by slots)
            "pages": Markup(slots.pagination_html(page, self._icon)),  # noqa: S704 (escaped)
            "term": request.query_params.get("q") or "",
            "searchable": any(field.searchable for field in view.get_fields_list(request)),
            "can_purge": allows is not None and allows(request, "purge"),
        }
        return compat.template_response(self, request, "trash.html", context)

    @route("/{key}/trash/restore", methods=["GET", "POST"], name="trash-restore")
    async def trash_restore(self, request: Request) -> Response:
        """GET: the confirmation page for the chosen records. POST: restore the posted
        `pks` (or `batch`) but those whose unique value is taken."""
        view = self._trash_view(request, "delete")
        if request.method == "GET":
            pks = chosen_pks(request.query_params)
            if not pks:
                return self._back_to_trash(request, view, NOTHING_CHOSEN)
            rows = await self._selection(request, view, pks)
            plan = await plan_restore(get_session(request), view, rows, {})
            return await self._render_restore(request, view, rows, plan)
        form = await request.form()
        rows = await self._posted(request, view, form)
        plan = await plan_restore(get_session(request), view, rows, form)
        if not plan.ready:
            return await self._render_restore(request, view, rows, plan, status_code=409)
        await _restore(request, view, plan)
        names = ", ".join([await view.repr(row, request) for row in plan.ready][:3])
        more = " …" if len(plan.ready) > 3 else ""
        flash(request, gettext("Restored: %(names)s.") % {"names": names + more}, "success")
        if plan.held:
            return self._held_back(request, view, plan)
        return RedirectResponse(str(request.url_for(f"{self.route_name}:list", key=view.key)), 303)

    @route("/{key}/trash/purge", methods=["GET", "POST"], name="trash-purge")
    async def trash_purge(self, request: Request) -> Response:
        """GET: the confirmation page for the chosen records. POST: delete them for good."""
        request.state.action = RequestAction.ACTION
        view = self._trash_view(request, "purge")
        if request.method == "GET":
            pks = chosen_pks(request.query_params)
            if not pks:
                return self._back_to_trash(request, view, NOTHING_CHOSEN)
        else:
            pks = chosen_pks(await request.form())
        rows = await self._selection(request, view, pks)
        db = get_session(request)
        db.info[INCLUDE_TRASHED] = True  # the preview, and the delete's cascades, see the trash
        found = await self._preview(request, view, [pk_of(row) for row in rows])
        if found is None or len(found.pks) != len(rows):
            raise HTTPException(404, str(NOT_IN_TRASH))
        if request.method == "GET" or not found.allowed:
            status = 200 if found.allowed else 409
            return self._render_delete_page(request, view, found, None, status, purge=True)
        try:
            await _purge(request, rows)
        except IntegrityError:
            message = gettext("The database refused the delete; nothing was deleted.")
            return self._render_delete_page(request, view, found, message, 409, purge=True)
        flash(request, gettext("%(count)s deleted for good.") % {"count": len(rows)}, "success")
        return RedirectResponse(str(request.url_for(f"{self.route_name}:trash", key=view.key)), 303)

    def _trash_view(self, request: Request, permission: str) -> TrashView:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        trashable = isinstance(view, TrashDeleteMixin) and view.trashable
        if not trashable or not isinstance(view, ListingMixin):
            raise HTTPException(404, gettext("This model has no trash."))
        allows = getattr(view, "allows", None)
        if not view.is_accessible(request) or not view.can_delete(request):
            raise HTTPException(403)
        if permission == "purge" and (allows is None or not allows(request, "purge")):
            raise HTTPException(403, gettext("Deleting for good needs the purge permission."))
        return cast(TrashView, view)

    async def _selection(self, request: Request, view: TrashView, pks: Sequence[str]) -> list[Any]:
        """The trashed rows keyed `pks`, every one of them in the user's reach: else a 404,
        before anything changes."""
        if not 0 < len(pks) <= view.action_select_all_limit:
            limit = view.action_select_all_limit
            raise HTTPException(
                400, gettext("Choose between 1 and %(limit)s records.") % {"limit": limit}
            )
        keys = [view.coerce_pk(pk) for pk in pks]
        if any(key is None for key in keys):
            raise HTTPException(404, str(NOT_IN_TRASH))
        column = inspect(view.model).primary_key[0]
        rows = await _trashed(request, view, view.get_list_query(request).where(column.in_(keys)))
        if len(rows) != len(set(keys)):
            raise HTTPException(404, str(NOT_IN_TRASH))
        return rows

    async def _posted(self, request: Request, view: TrashView, form: FormData) -> list[Any]:
        """The rows a restore names: the posted `batch` (Undo), or the chosen `pks`."""
        batch = str(form.get("batch") or "")
        if not batch:
            return await self._selection(request, view, chosen_pks(form))
        if not (batch.isascii() and batch.isalnum() and len(batch) <= BATCH_LENGTH):
            raise HTTPException(404, str(NOT_IN_TRASH))  # no batch is named so (`new_batch`)
        query = view.get_list_query(request).where(view.model.trash_batch == batch)
        rows = await _trashed(request, view, query.limit(view.action_select_all_limit))
        if not rows:
            raise HTTPException(404, str(NOT_IN_TRASH))
        return rows

    async def _render_restore(
        self,
        request: Request,
        view: TrashView,
        rows: Sequence[Any],
        plan: RestorePlan,
        status_code: int = 200,
    ) -> Response:
        views = {v.model: v for v in compat.model_views(self) if isinstance(v, DeleteActionsMixin)}
        with seeing_trash(get_session(request)):
            children = await coming_back(get_session(request), view, plan.ready, views)
            context = {
                "title": f"{view.menu_label}: restore",
                "view": view,
                "ready": [await _item(request, view, row) for row in plan.ready],
                "held": [await _item(request, view, row) for row in plan.held],
                "problems": plan.problems,
                "children": children,
                "pks": [pk_of(row) for row in rows],
                "trash_url": request.url_for(f"{self.route_name}:trash", key=view.key),
            }
        return compat.template_response(self, request, "trash_restore.html", context, status_code)

    def _held_back(self, request: Request, view: TrashView, plan: RestorePlan) -> Response:
        """After a restore that held records back: their confirmation page, to give each
        a new value."""
        count = len(plan.held)
        flash(
            request,
            gettext(
                "%(count)s not restored: a value that must be unique is taken. "
                "Enter a new one for each below."
            )
            % {"count": count},
            "warning",
        )
        url = request.url_for(f"{self.route_name}:trash-restore", key=view.key)
        query = urlencode([("pks", pk_of(row)) for row in plan.held])
        return RedirectResponse(f"{url}?{query}", 303)

    def _icon(self, name: str) -> str:
        return compat.resolve_icon(self, name)

    def _back_to_trash(self, request: Request, view: TrashView, message: str) -> Response:
        flash(request, message, "warning")
        url = request.url_for(f"{self.route_name}:trash", key=view.key)
        return RedirectResponse(str(url), 303)


async def _item(request: Request, view: TrashView, row: Any) -> dict[str, Any]:
    """What the trash pages show of one trashed row."""
    name = await view.repr(row, request)
    return {"pk": pk_of(row), "name": name, "deleted_at": row.deleted_at, "row": row}


async def _trashed(request: Request, view: TrashView, query: Select[Any]) -> list[Any]:
    """The trashed rows of `query` (the view's scoped list query), newest deletion first."""
    model: Any = view.model
    stmt = (
        query.where(Trashable.in_trash(model))
        .order_by(None)
        .order_by(model.deleted_at.desc(), *inspect(model).primary_key)
        .execution_options(**{INCLUDE_TRASHED: True})
    )
    return list((await get_session(request).scalars(stmt)).unique().all())


async def _restore(request: Request, view: TrashView, plan: RestorePlan) -> None:
    """Restore the plan's ready rows with their children, in a savepoint, logged as
    `restore`; a 409 (nothing restored) if the database refuses a value taken meanwhile."""
    db = get_session(request)
    try:
        async with db.begin_nested():
            with audit_as("restore", f"{len(plan.ready)} {view.key} from the trash"):
                plan.apply()
                await restore(db, view.model, plan.ready)
    except IntegrityError:
        raise HTTPException(
            409, gettext("A value was taken while restoring; nothing was restored. Try again.")
        ) from None


async def _purge(request: Request, rows: Sequence[Any]) -> None:
    """Delete `rows` for good, in a savepoint, logged as `purge`."""
    db = get_session(request)
    async with db.begin_nested():
        with audit_as("purge", f"{len(rows)} from the trash, for good"):
            for row in rows:
                await db.delete(row)
            await db.flush()
