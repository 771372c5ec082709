"""The Views menu's JSON calls (`static/saved_views.js`), mixed into the admin.

- `GET  /admin/_api/saved-views/{key}`: the views of this list the user may open, the
  roles they may share with, and whether they may set role defaults;
- `POST /admin/_api/saved-views/{key}`: save the list's state as a new view
  (`name`, `query`, `role` repeated, `default` repeated);
- `POST /admin/_api/saved-views/{key}/{id}`: rename, re-share or re-save an own view;
- `POST /admin/_api/saved-views/{key}/{id}/delete`: delete an own view;
- `POST /admin/_api/saved-views/{key}/remember`: the user's columns and page size;
- `GET  /admin/_api/saved-views/{key}/dialog`: the Save dialog's HTML, which the list
  page does not carry.

Each answers 403 where the user may not view the list, 404 for a view that is not
theirs to change, 400 with `{"errors": {field: message}}` for bad input. CSRF is
checked by the admin's middleware, as for every POST.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette_admin.i18n import gettext
from starlette_admin.routing import route
from starlette_admin.types import RequestAction

from admin_app.admin import compat
from admin_app.admin.compat import AdminPages
from admin_app.admin.lists.query import ListingMixin
from admin_app.admin.saved_views import store
from admin_app.admin.saved_views.state import StateError, normalised
from admin_app.auth.identity import Identity, current_identity
from admin_app.auth.permissions import grants
from admin_app.models import Role, SavedView
from admin_app.state import get_session

NO_STORE = {"Cache-Control": "private, no-store"}
MAX_COLS_LENGTH = 2000
"""Longest remembered column list, in characters."""


class InputError(ValueError):
    """Bad input for one field of the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class SavedViewRoutes(AdminPages):
    """The Views menu's calls."""

    def _listing(self, request: Request) -> tuple[ListingMixin, Identity] | Response:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        request.state.action = RequestAction.LIST
        user = current_identity(request)
        if not isinstance(view, ListingMixin) or user is None or not view.is_accessible(request):
            return JSONResponse({"msg": "You may not view this list."}, 403)
        return view, user

    def view_url(self, request: Request, saved: SavedView) -> str:
        """Where a saved view opens: its list, `?view=<id>`."""
        path = request.url_for(f"{self.route_name}:list", key=saved.model).path
        return f"{path}?view={saved.id}"

    @route("/_api/saved-views/{key}", methods=["GET", "POST"], name="saved-views")
    async def saved_views(self, request: Request) -> Response:
        """The menu's contents (GET), or a new view (POST)."""
        found = self._listing(request)
        if isinstance(found, Response):
            return found
        view, user = found
        if request.method == "POST":
            return await self._save(request, view, user, None)
        return await self._menu(request, view, user)

    @route("/_api/saved-views/{key}/{view_id:int}", methods=["POST"], name="saved-view")
    async def saved_view(self, request: Request) -> Response:
        """Rename, re-share or re-save one of the user's own views."""
        found = self._listing(request)
        if isinstance(found, Response):
            return found
        view, user = found
        saved = await self._own(request, view, user)
        if saved is None:
            return JSONResponse({"msg": "No such view of yours."}, 404)
        return await self._save(request, view, user, saved)

    @route(
        "/_api/saved-views/{key}/{view_id:int}/delete", methods=["POST"], name="saved-view-delete"
    )
    async def delete_saved_view(self, request: Request) -> Response:
        """Delete one of the user's own views."""
        found = self._listing(request)
        if isinstance(found, Response):
            return found
        saved = await self._own(request, *found)
        if saved is None:
            return JSONResponse({"msg": "No such view of yours."}, 404)
        await get_session(request).delete(saved)
        return JSONResponse({"deleted": saved.id}, headers=NO_STORE)

    @route("/_api/saved-views/{key}/dialog", methods=["GET"], name="saved-view-dialog")
    async def saved_view_dialog(self, request: Request) -> Response:
        """The Save dialog (templates/admin/_saved_view_dialog.html), fetched by
        static/saved_views.js when the Views menu is first opened."""
        found = self._listing(request)
        if isinstance(found, Response):
            return found
        template = self.templates.env.get_template("_saved_view_dialog.html")
        return HTMLResponse(template.render(request=request), headers=NO_STORE)

    @route("/_api/saved-views/{key}/remember", methods=["POST"], name="list-remember")
    async def remember_list(self, request: Request) -> Response:
        """Remember the user's columns (`cols`) and page size (`page_size`) on this list;
        without either, forget them (the list's own)."""
        found = self._listing(request)
        if isinstance(found, Response):
            return found
        view, user = found
        form = await request.form()
        try:
            cols = _text(form, "cols", "").strip()[:MAX_COLS_LENGTH] or None
            size = _text(form, "page_size", "").strip()
        except InputError as error:
            return JSONResponse({"errors": {error.field: str(error)}}, 400)
        if size and (not size.isdigit() or int(size) not in view.page_size_options):
            return JSONResponse({"errors": {"page_size": "Choose a page size offered."}}, 400)
        page_size = int(size) if size else None
        await store.remember(get_session(request), user.id, str(view.key), cols, page_size)
        return JSONResponse({"cols": cols, "page_size": page_size}, headers=NO_STORE)

    async def _own(self, request: Request, view: ListingMixin, user: Identity) -> SavedView | None:
        saved = await get_session(request).get(SavedView, request.path_params["view_id"])
        if saved is None or saved.owner_id != user.id or saved.model != str(view.key):
            return None
        return saved

    async def _menu(self, request: Request, view: ListingMixin, user: Identity) -> Response:
        db = get_session(request)
        saved = await store.visible_views(db, user.id, [str(view.key)])
        roles = await store.shareable_roles(db, user)
        body = {
            "views": [await self._entry(request, s, user) for s in saved],
            "roles": [{"id": r.id, "name": r.name} for r in roles],
            "can_set_defaults": store.may_set_defaults(grants(request)),
        }
        return JSONResponse(body, headers=NO_STORE)

    async def _entry(self, request: Request, saved: SavedView, user: Identity) -> dict[str, Any]:
        mine = saved.owner_id == user.id
        return {
            "id": saved.id,
            "name": saved.name,
            "url": self.view_url(request, saved),
            "mine": mine,
            "query": saved.query if mine else "",
            "roles": [r.id for r in saved.roles] if mine else [],
            "shared_with": [r.name for r in saved.roles] if mine else [],
            "default_for": await store.defaults_of(get_session(request), saved.id) if mine else [],
        }

    async def _save(
        self, request: Request, view: ListingMixin, user: Identity, saved: SavedView | None
    ) -> Response:
        db = get_session(request)
        form = await request.form()
        try:
            given = await _read_input(request, form, user, saved)
        except InputError as error:
            return JSONResponse({"errors": {error.field: str(error)}}, 400)
        managed = await _managed_roles(request, user)
        if saved is None:
            saved = await store.create_view(db, user.id, str(view.key), given)
        else:
            saved.name, saved.query, saved.roles = given.name, given.query, given.roles
            await db.flush()
            await store.drop_unshared_defaults(db, saved)
            await store.set_defaults(db, saved, managed, given.default_for)
        return JSONResponse(
            {"id": saved.id, "url": self.view_url(request, saved), "name": saved.name},
            status_code=200,
            headers=NO_STORE,
        )


async def _managed_roles(request: Request, user: Identity) -> list[Role]:
    """The roles whose default views this user sets: those they may share with, when they
    may set defaults at all."""
    if not store.may_set_defaults(grants(request)):
        return []
    return await store.shareable_roles(get_session(request), user)


async def _read_input(
    request: Request, form: FormData, user: Identity, saved: SavedView | None
) -> store.ViewInput:
    """The form as a `ViewInput`, or `InputError` naming the field that is wrong."""
    name = _text(form, "name", saved.name if saved else None).strip()
    if not name:
        raise InputError("name", gettext("Give the view a name."))
    if len(name) > store.MAX_NAME_LENGTH or "\x00" in name:
        said = gettext("Use at most %(count)s printable characters.")
        raise InputError("name", said % {"count": store.MAX_NAME_LENGTH})
    try:
        query = normalised(_text(form, "query", saved.query if saved else ""))
    except StateError as error:
        raise InputError("query", str(error)) from error
    allowed = {r.id: r for r in await store.shareable_roles(get_session(request), user)}
    kept = [r for r in (saved.roles if saved else []) if r.id not in allowed]
    roles = _roles(form, "role", allowed)
    chosen = _roles(form, "default", allowed)
    if chosen and not store.may_set_defaults(grants(request)):
        raise InputError(
            "default", gettext("Only those who may edit roles set a role's default view.")
        )
    if any(role not in roles for role in chosen):
        raise InputError("default", gettext("A view is a role's default only when shared with it."))
    return store.ViewInput(name, query, kept + roles, chosen)


def _text(form: FormData, name: str, default: str | None) -> str:
    value = form.get(name)
    if value is None:
        return default or ""
    if not isinstance(value, str):
        raise InputError(name, "Expected text.")
    return value


def _roles(form: FormData, name: str, allowed: dict[int, Role]) -> list[Role]:
    """The roles named by id in `name`; `InputError` for one the user may not share with."""
    roles: list[Role] = []
    for raw in form.getlist(name):
        if not isinstance(raw, str) or not raw.isdigit() or int(raw) not in allowed:
            raise InputError(name, "Choose among the roles offered.")
        if allowed[int(raw)] not in roles:
            roles.append(allowed[int(raw)])
    return roles
