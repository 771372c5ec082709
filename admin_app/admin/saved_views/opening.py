"""What a list GET does before the list is read: open a saved view, a role's default, or
the user's remembered columns, and remember new ones.

- `?view=<id>` alone redirects to the view's state, with `view=<id>` kept so the menu
  can tell which view is open; with state parameters of its own the URL wins (edits to
  a view's filters still work). A view shared with nobody the user is sees a notice.
- A list opened with no query at all goes to the first of the user's roles' default
  views, else to the user's last columns and page size.

A list GET writes nothing (it runs without a transaction, perhaps on a replica): the
page's script remembers a new choice of columns or page size through `routes`.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.admin.lists.query import ListingMixin
from admin_app.admin.saved_views import store
from admin_app.admin.saved_views.state import checked_for, has_state
from admin_app.auth.identity import current_identity
from admin_app.models import SavedView
from admin_app.state import get_session

PLAIN = "none"
"""`view=none`: the list with no saved view (and nothing remembered) applied."""


async def before_list(request: Request, view: ListingMixin) -> Response | None:
    """A redirect to the state this list GET should show, or None to show it as asked."""
    user = current_identity(request)
    if user is None:
        return None
    params = request.query_params
    raw = params.get("view")
    if raw is not None and raw != PLAIN:
        return await _open(request, view, user.id, raw, params)
    if request.scope["query_string"]:
        return None
    return await _open_default(request, view, user.id)


async def _open(
    request: Request, view: ListingMixin, user_id: int, raw: str, params: QueryParams
) -> Response | None:
    found = None
    if raw.isdigit() and len(raw) < 10:
        found = await store.find_visible(get_session(request), user_id, str(view.key), int(raw))
    if found is None:
        flash(
            request,
            gettext("That saved view does not exist, or is not shared with you."),
            "warning",
        )
        return _redirect(request, {"view": PLAIN})
    return None if has_state(params) else expanded(request, view, found)


def expanded(request: Request, view: ListingMixin, saved: SavedView) -> Response | None:
    """A redirect to `saved`'s state as this viewer may open it, with a notice naming
    what was left out; None where the state is empty (the page shows as it is)."""
    checked = checked_for(request, view, saved.query)
    if checked.dropped:
        names = ", ".join(dict.fromkeys(checked.dropped))
        flash(
            request,
            gettext(
                "The view “%(name)s” was opened without what this list no longer offers "
                "you: %(names)s."
            )
            % {"name": saved.name, "names": names},
            "warning",
        )
    if not checked.query:
        return None
    return _redirect(request, {"view": str(saved.id)}, checked.query)


async def _open_default(request: Request, view: ListingMixin, user_id: int) -> Response | None:
    found = await store.opening(get_session(request), user_id, str(view.key))
    if found.default is not None:
        return expanded(request, view, found.default) or _redirect(
            request, {"view": str(found.default.id)}
        )
    kept = {"cols": found.cols or "", "page_size": str(found.page_size or "")}
    if not any(kept.values()):
        return None
    query = checked_for(request, view, urlencode({k: v for k, v in kept.items() if v})).query
    return _redirect(request, {}, query) if query else None


def _redirect(request: Request, first: dict[str, str], query: str = "") -> Response:
    url = request.url.path + "?" + "&".join(q for q in (urlencode(first), query) if q)
    return RedirectResponse(url.rstrip("?"), status_code=303)
