"""Deleting through a confirmation page that shows what the delete does, as Django's admin.

starlette-admin deletes after a bare "Are you sure?"; a refused delete then surfaced as
a constraint message, after the fact. Here, for every view:

1. A row's Delete (on the list or the detail page) links to `GET /admin/<key>/delete?pks=N`.
   "With selected → Delete" posts the selection to starlette-admin's action endpoint as
   before (checked rows, or every row matching the filter, up to
   `action_select_all_limit`), and the action answers with the same page.
2. The page (`templates/admin/delete.html`) names the rows, what is deleted with them,
   what is kept but unlinked, and what blocks the delete (`delete_preview`). When
   something blocks, it offers no way to confirm.
3. "Yes, delete" posts the keys to `POST /admin/<key>/delete`, which checks again and
   deletes through the view's own `delete` (hooks, savepoint, audit entries, live
   events), then returns to the list with a message.

Both routes need the view's delete permission, and see only rows in the user's scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.actions import ActionSelection, action, link_row_action
from starlette_admin.contrib.sqla import Admin, ModelView
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.helpers import safe_redirect_url
from starlette_admin.i18n import gettext
from starlette_admin.routing import route
from starlette_admin.types import RequestAction

from admin_app.admin import compat
from admin_app.admin.delete_preview import Preview, Previewable, preview
from admin_app.admin.deletion import DeleteBlocked
from admin_app.db import Base

NOTHING_TO_DELETE = "None of these records exists, or you may not see them."


class DeleteActionsMixin(ModelView):
    """A view's two Delete actions, both leading to the confirmation page."""

    def coerce_pk(self, value: Any) -> Any | None:
        """The key a URL names, or None when it cannot name a row (`AppModelView`'s checks)."""
        return value

    async def deletion_refusals(self, request: Request, pks: Sequence[Any]) -> list[str]:
        """Reasons of the view's own to refuse deleting these rows, shown on the confirmation
        page, which then cannot be confirmed. Default: none. Example: "You cannot delete
        your own account." (`before_delete` should refuse the same, for other callers).
        The default gives each row's `change_refusal`, once per distinct reason."""
        refusals: list[str] = []
        refusal_of = getattr(self, "change_refusal", None)
        if refusal_of is None:
            return refusals
        for obj in await self.find_by_pks(request, list(pks)):
            reason = await refusal_of(request, obj)
            if reason and reason not in refusals:
                refusals.append(reason)
        return refusals

    @link_row_action(
        name="delete",
        text="Delete",
        icon_class="default_actions.delete",
        action_btn_class="action.row_item_delete",
    )
    def row_action_3_delete(self, request: Request, pk: Any) -> str:
        """The row's Delete: a link to the confirmation page. (The name replaces
        starlette-admin's own delete row action.)"""
        url = request.url_for(f"{request.app.state.ROUTE_NAME}:delete", key=self.key)
        url = url.include_query_params(pks=str(pk))
        return str(compat.with_origin(url, compat.carry_origin(request)))

    @action(name="delete", text="Delete", custom_response=True)
    async def delete_action(self, request: Request, selection: ActionSelection) -> Response:
        """With selected → Delete: the confirmation page for the selected rows. No modal
        first (no `confirmation`): the page is the confirmation."""
        admin = compat.admin_of(self)
        assert isinstance(admin, DeletePages)
        pks = [str(pk) for pk in await selection.pks()]
        return await admin.delete_page_response(request, self, pks)

    async def handle_action(
        self, request: Request, selection: ActionSelection, name: str
    ) -> Response | None:
        """As starlette-admin's, but a refused "delete" posted by the browser (the action is
        a form submission now, not a script's call) goes back to the list with the reason,
        rather than showing the JSON meant for the script."""
        try:
            return await super().handle_action(request, selection, name)
        except ActionFailed as failed:
            if name != "delete" or "text/html" not in request.headers.get("accept", ""):
                raise
            return _back(request, str(self.key), failed.msg, "error")

    async def delete_confirmed(self, request: Request, pks: list[Any]) -> str:
        """Delete the rows (through `delete`: hooks, savepoint, events) and say so."""
        named = await self.find_by_pk(request, pks[0]) if len(pks) == 1 else None
        name = await self.repr(named, request) if named is not None else None
        deleted = await self.delete(request, pks) or 0
        if name is not None:
            return f'The item "{name}" was successfully deleted.'
        return f"{deleted} items were successfully deleted."


class DeletePages(Admin):
    """The confirmation page's routes, mixed into the admin."""

    @route("/{key}/delete", methods=["GET", "POST"], name="delete")
    async def delete_page(self, request: Request) -> Response:
        """GET: the confirmation page for `?pks=`. POST: delete the posted `pks`."""
        request.state.action = RequestAction.ACTION  # as starlette-admin's own delete action
        view = self._deletable(request)
        if request.method == "GET":
            pks = request.query_params.getlist("pks")
        else:
            pks = [str(pk) for pk in (await request.form()).getlist("pks")]
        if not 0 < len(pks) <= view.action_select_all_limit:
            limit = view.action_select_all_limit
            raise HTTPException(
                400, gettext("Choose between 1 and %(limit)s records to delete.") % {"limit": limit}
            )
        if request.method == "GET":
            return await self.delete_page_response(request, view, pks)
        return await self._confirm(request, view, pks)

    async def delete_page_response(
        self,
        request: Request,
        view: DeleteActionsMixin,
        pks: Sequence[str],
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        """The confirmation page for the rows of `view` keyed `pks` (404 if none is reachable)."""
        found = await self._preview(request, view, pks)
        if found is None:
            raise HTTPException(404, NOTHING_TO_DELETE)
        return self._render_delete_page(request, view, found, error, status_code)

    async def _confirm(
        self, request: Request, view: DeleteActionsMixin, pks: list[str]
    ) -> Response:
        found = await self._preview(request, view, pks)
        if found is None:
            raise HTTPException(404, NOTHING_TO_DELETE)
        if not found.allowed:
            message = gettext("Nothing was deleted: something now prevents it (see below).")
            return self._render_delete_page(request, view, found, message, 409)
        try:
            done = await view.delete_confirmed(request, list(found.pks))
        except ActionFailed as failed:
            return self._render_delete_page(request, view, found, failed.msg, 400)
        except (SQLAlchemyError, DeleteBlocked):
            message = gettext(
                "The database refused the delete; nothing was deleted. See why below."
            )
            return await self.delete_page_response(request, view, pks, message, 409)
        return _back(request, str(view.key), done, "success", after_delete=True)

    def _deletable(self, request: Request) -> DeleteActionsMixin:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, DeleteActionsMixin):
            raise HTTPException(404)
        if not view.is_accessible(request) or not view.can_delete(request):
            raise HTTPException(403)
        return view

    async def _preview(
        self, request: Request, view: DeleteActionsMixin, pks: Sequence[str]
    ) -> Preview | None:
        views: dict[type[Base], Previewable] = {
            v.model: v for v in compat.model_views(self) if isinstance(v, DeleteActionsMixin)
        }
        return await preview(request, view, pks, views)

    def _render_delete_page(
        self,
        request: Request,
        view: DeleteActionsMixin,
        found: Preview,
        error: str | None,
        status_code: int,
        purge: bool = False,
    ) -> Response:
        """The page; `purge` for deleting rows from the trash for good (`TrashPages`)."""
        route = "trash-purge" if purge else "delete"
        action_url = request.url_for(f"{self.route_name}:{route}", key=view.key)
        origin = compat.requested_origin(request)
        context = {
            "title": f"Delete {view.display_name}",
            "view": view,
            "preview": found,
            "error": error,
            "action_url": compat.with_origin(action_url, origin),
            "cancel_url": request.url_for(f"{self.route_name}:trash", key=view.key)
            if purge
            else _safe_origin(request, str(view.key), origin),
            "mode": "purge" if purge else ("trash" if getattr(view, "trashable", False) else ""),
        }
        return compat.template_response(self, request, "delete.html", context, status_code)


def _safe_origin(request: Request, key: str, origin: str | None) -> str:
    fallback = str(request.url_for(f"{request.app.state.ROUTE_NAME}:list", key=key))
    return safe_redirect_url(origin, request, fallback) if origin else fallback


def _back(
    request: Request, key: str, message: str, category: str, after_delete: bool = False
) -> Response:
    """Back where the user came from, with a message. After a delete, a detail page of a
    deleted record is gone: back to the page that detail page came from instead."""
    origin = compat.requested_origin(request)
    detail = request.url_for(f"{request.app.state.ROUTE_NAME}:detail", key=key).path
    if after_delete and origin and urlparse(origin).path == detail:
        nested = parse_qs(urlparse(origin).query).get(compat.ORIGIN_PARAM)
        origin = nested[0] if nested else None
    flash(request, message, category)
    return RedirectResponse(_safe_origin(request, key, origin), status_code=303)
