"""The command palette (Ctrl/Cmd-K, `static/palette.js`): where a user may go, and records.

Two JSON calls under the admin, both answered from the same permission checks as the
pages they lead to:

- `GET /admin/_api/palette`: the commands, one list per source in `PALETTE_SOURCES`;
- `GET /admin/_api/search?q=`: records in every model the user may view
  (`global_search.search_views`).

Adding a kind of destination is one function added to `PALETTE_SOURCES`: it gets the
admin's model views and the request, and returns (or awaits) the `Command`s this user
may open; saved views are one such source.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.i18n import gettext
from starlette_admin.routing import route

from admin_app.admin import compat
from admin_app.admin.base import AppModelView
from admin_app.admin.compat import AdminPages
from admin_app.admin.global_search import MIN_TERM_LENGTH, search_views, searchable_term
from admin_app.admin.import_pages import offers_import
from admin_app.admin.saved_views.store import visible_views
from admin_app.auth.identity import current_identity
from admin_app.languages import in_sentence
from admin_app.state import get_session


@dataclass(frozen=True)
class Command:
    """One destination: its words, where it leads, and the heading it is listed under."""

    label: str
    url: str
    group: str


@dataclass(frozen=True)
class PaletteContext:
    """What a source may read: the request, the admin's model views, its route name."""

    request: Request
    views: Sequence[AppModelView]
    route_name: str

    def url(self, name: str, **params: str) -> str:
        """The path of the admin's route `name`."""
        return self.request.url_for(f"{self.route_name}:{name}", **params).path


PaletteSource = Callable[[PaletteContext], list[Command] | Awaitable[list[Command]]]
"""Gives the commands of one kind this user may open (`PALETTE_SOURCES`)."""


def model_lists(ctx: PaletteContext) -> list[Command]:
    """Every list the user may view (the audit log and sessions among them)."""
    return [
        Command(v.records_label(), ctx.url("list", key=str(v.key)), gettext("Go to"))
        for v in ctx.views
        if v.is_accessible(ctx.request)
    ]


def create_pages(ctx: PaletteContext) -> list[Command]:
    """ "Create customer" for each model the user may create records of."""
    return [
        Command(
            gettext("Create %(name)s") % {"name": in_sentence(str(v.display_name))},
            ctx.url("create", key=str(v.key)),
            gettext("Create"),
        )
        for v in ctx.views
        if v.is_accessible(ctx.request) and v.can_create(ctx.request)
    ]


def import_pages(ctx: PaletteContext) -> list[Command]:
    """The import page of each model the user may import into."""
    return [
        Command(
            gettext("Import %(name)s") % {"name": in_sentence(v.records_label())},
            ctx.url("import-page", key=str(v.key)),
            gettext("Import"),
        )
        for v in ctx.views
        if offers_import(v, ctx.request)
    ]


def account_page(ctx: PaletteContext) -> list[Command]:
    """My account: everyone signed in has one."""
    return [Command(gettext("My account"), ctx.url("account"), gettext("Account"))]


async def saved_views(ctx: PaletteContext) -> list[Command]:
    """The saved views the user may open, of the lists they may still view
    (`admin_app.admin.saved_views`)."""
    user = current_identity(ctx.request)
    lists = {str(v.key): v for v in ctx.views if v.is_accessible(ctx.request)}
    if user is None or not lists:
        return []
    found = await visible_views(get_session(ctx.request), user.id, sorted(lists))
    return [
        Command(
            f"{saved.name} ({in_sentence(lists[saved.model].records_label())})",
            ctx.url("list", key=saved.model) + f"?view={saved.id}",
            gettext("Saved views"),
        )
        for saved in found
    ]


PALETTE_SOURCES: list[PaletteSource] = [
    model_lists,
    saved_views,
    create_pages,
    import_pages,
    account_page,
]
"""Every kind of destination the palette offers, in the order it lists them."""


async def palette_commands(ctx: PaletteContext) -> list[Command]:
    """Every command of every source, for this user."""
    commands: list[Command] = []
    for source in PALETTE_SOURCES:
        found = source(ctx)
        commands += await found if inspect.isawaitable(found) else found
    return commands


class PaletteRoutes(AdminPages):
    """The palette's two JSON calls, mixed into the admin."""

    def _palette_context(self, request: Request) -> PaletteContext:
        views = [v for v in compat.model_views(self) if isinstance(v, AppModelView)]
        request.state.action = RequestAction.LIST
        return PaletteContext(request, views, self.route_name)

    @route("/_api/palette", methods=["GET"], name="palette")
    async def palette(self, request: Request) -> Response:
        """The commands this user may open."""
        commands = await palette_commands(self._palette_context(request))
        body = [{"label": c.label, "url": c.url, "group": c.group} for c in commands]
        return JSONResponse({"commands": body}, headers={"Cache-Control": "private, no-store"})

    @route("/_api/search", methods=["GET"], name="global-search")
    async def global_search(self, request: Request) -> Response:
        """Records matching `q` in every model the user may view, grouped by model. A term
        shorter than `MIN_TERM_LENGTH` (or longer than a search box takes) finds nothing."""
        ctx = self._palette_context(request)
        term = searchable_term(request.query_params.get("q"))
        groups = (
            [] if term is None else await search_views(ctx.views, request, term, ctx.route_name)
        )
        return JSONResponse(
            {
                "term": term or "",
                "min_length": MIN_TERM_LENGTH,
                "groups": [g.as_json() for g in groups],
            },
            headers={"Cache-Control": "private, no-store"},
        )
