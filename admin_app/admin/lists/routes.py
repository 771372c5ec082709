"""The admin's list page and relation picker, served through `ListingMixin` views.

`ListRoutes` is mixed into the admin (`AppAdmin`); it replaces two of
starlette-admin's endpoints for views that use `ListingMixin` and leaves every
other view on starlette-admin's own code:

- `GET /{key}/list`: one keyset page, a cheap total, rows rendered by
  `rows`, in `templates/admin/list.html` around a kept `chrome.Chrome`;
- `GET /_api/{key}/relation-lookup`: the JSON behind relation pickers. The stock
  endpoint counts every matching row to tell select2 whether to offer more; here
  one extra row is fetched instead, so a million-row table costs one indexed query.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property, partial
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope
from starlette_admin.fields import BaseField
from starlette_admin.flash import get_flashed_messages
from starlette_admin.helpers import html_safe_json, list_url
from starlette_admin.i18n import get_locale, gettext
from starlette_admin.routing import route
from starlette_admin.types import ListParams, RequestAction

from admin_app.admin import compat
from admin_app.admin.chrome import Chrome, ChromeCache, Slots, cut, join, render_chrome
from admin_app.admin.compat import AdminPages
from admin_app.admin.header_filters import apply_header_filter, popover_forms
from admin_app.admin.lists import slots
from admin_app.admin.lists.query import POSITION_PARAMS, ListingMixin, Position
from admin_app.admin.lists.rows import RowRenderer
from admin_app.admin.saved_views.opening import before_list

LOOKUP_PAGE_MAX = 100
"""Most results one relation-picker request returns."""
FRESH = {"Cache-Control": "private, no-cache"}
"""Parts of a list page fetched when first used: built for the user's permissions and
the data of that moment, never taken from a cache without asking."""
CONTENTS_KEPT = 128
"""List `content` blocks kept (about 25 kB each), by `ChromeCache.audience` (the chrome's
key but who the viewer is: a block shows no name, session or account) and the URL but the
page's position: shared by everyone with the same permissions, theme, locale and zone."""


class ListRoutes(AdminPages):
    """The list page and relation look-up for views built on `ListingMixin`."""

    READ_ONLY_ROUTES = re.compile(r"/(?:[^/]+/list|_api/[^/]+/relation-lookup)")
    """The admin routes whose GETs only read (`reads_only`)."""

    REPLICA_ROUTES = re.compile(r"/(?:|[^/]+/list|_api/[^/]+/relation-lookup)")
    """The admin routes whose GETs may read from a replica (`reads_from_replica`): the
    dashboard, list pages (and so searches) and relation pickers. Not a record's detail
    page or forms: an edit form read from a replica behind the primary would offer old
    values, and saving them would fail as a conflict."""

    def reads_only(self, scope: Scope) -> bool:
        """True for a GET of a list page or relation picker: requests that write nothing
        but the login check's `last_seen_at`, which `DBSessionMiddleware` then runs
        without a transaction."""
        return self._get_of(scope, self.READ_ONLY_ROUTES)

    def reads_from_replica(self, scope: Scope) -> bool:
        """True for a GET of a `REPLICA_ROUTES` page (see `admin_app.replicas`)."""
        return self._get_of(scope, self.REPLICA_ROUTES)

    def _get_of(self, scope: Scope, routes: re.Pattern[str]) -> bool:
        if scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        prefix = scope.get("root_path", "") + self.base_url.rstrip("/")
        return path.startswith(prefix) and bool(routes.fullmatch(path, len(prefix)))

    def setup_templates(self) -> None:
        super().setup_templates()
        env = self.templates.env
        env.globals["list_url"] = list_url_from_start
        stock_tojson = env.filters["tojson"]
        env.filters["tojson"] = lambda value, *args: (
            value if isinstance(value, EncodedJSON) else stock_tojson(value, *args)
        )
        self._slots = Slots()
        self._chromes: ChromeCache[Chrome] = ChromeCache()
        self._contents: ChromeCache[tuple[str, ...]] = ChromeCache(CONTENTS_KEPT)

    def _listing_view(self, request: Request) -> ListingMixin:
        """The list's view of an `/_api/{key}/…` request for a part of its page; 403 when
        the user may not see the list."""
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        request.state.action = RequestAction.LIST
        if not isinstance(view, ListingMixin) or not view.is_accessible(request):
            raise HTTPException(403)
        return view

    @route("/_api/{key}/filter-fields.js", methods=["GET"], name="filter-fields")
    async def filter_fields(self, request: Request) -> Response:
        """The script that gives a list's filter builder its fields (`filter_fields_script`):
        kept by the browser for good under its versioned URL, asked again otherwise."""
        view = self._listing_view(request)
        fields = filter_builder_json(request, view)
        kept = _static_filters(request, view)
        current = kept is not None and request.query_params.get("v") == kept[1]
        cache = "private, max-age=31536000, immutable" if current else "private, no-cache"
        return Response(
            f"{FILTER_FIELDS} = {fields or '[]'};\n",
            media_type="text/javascript",
            headers={"Cache-Control": cache},
        )

    @route("/_api/{key}/export-form", methods=["GET"], name="export-form")
    async def export_form_page(self, request: Request) -> Response:
        """The export dialog's form (`ExportMixin.export_form`), asked for by
        static/export.js when the list's Export button is first reached: the list page
        does not carry it (a twentieth of a customer list, more with more columns)."""
        view = self._listing_view(request)
        form = _exports(view, await view.get_all_actions(request))
        if form is None:
            raise HTTPException(403, gettext("You may not export these records."))
        return HTMLResponse(await form(request), headers=FRESH)

    @route("/_api/{key}/column-choices", methods=["GET"], name="column-choices")
    async def column_choices(self, request: Request) -> Response:
        """The column chooser's checkboxes (templates/admin/_column_choices.html), asked
        for by static/admin.js when the Columns menu is first opened."""
        view = self._listing_view(request)
        template = self.templates.env.get_template("_column_choices.html")
        context = {"all_fields": view.get_fields_list(request), "column_choices": True}
        context["list_params"] = compat.parse_list_params(view, request)
        html = template.render(context, request=request, view=view)
        return HTMLResponse(html, headers=FRESH)

    @route("/_api/{key}/header-filter", methods=["GET"], name="header-filter")
    async def header_filter_page(self, request: Request) -> Response:
        """The forms of a column's header filter (`header_filters.popover_forms`), asked
        for by static/header_filters.js when its popover is first opened: the list page
        does not carry them (a tenth of a customer list)."""
        view = self._listing_view(request)
        path = request.url_for(f"{self.route_name}:list", key=view.key).path
        forms = popover_forms(request, view, path, self.route_name)
        if forms is None:
            raise HTTPException(404, gettext("This list has no filter by that column for you."))
        return HTMLResponse(forms, headers=FRESH)

    async def list_page(self, request: Request) -> Response:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, ListingMixin):
            return await super().list_page(request)
        request.state.action = RequestAction.LIST
        if not view.is_accessible(request):
            raise HTTPException(403)
        redirect = apply_header_filter(request, view) or await before_list(request, view)
        if redirect is not None:
            return redirect
        Position.from_query(request.query_params)  # a malformed position: 400 before any work
        params = compat.parse_list_params(view, request)
        fields = compat.list_display_fields(request, view, params)
        context: dict[str, Any] = {"flashed_messages": get_flashed_messages(request)}
        chrome = await self._list_chrome(request, view, params, fields, context)
        keeps = chrome.kept and view.list_template == "list.html"
        stand_in = _with_term_slot(request, self._term_stand_in) if keeps else None
        audience = ChromeCache.audience(request, view.list_template, str(view.key))
        key = (audience, _list_params(stand_in or request)) if keeps else None
        parts = self._contents.get(key) if key is not None else None
        if parts is None:
            if stand_in is not None:
                context = await self._list_context(
                    stand_in, view, compat.parse_list_params(view, stand_in), fields, context
                )
            elif "view" not in context:
                context = await self._list_context(request, view, params, fields, context)
            html = chrome.block("content", context | self._content_slots)
            terms = {TERM_SLOT: self._term_stand_in} if stand_in is not None else None
            parts = cut(stand_in or request, html, self._slots, terms)
            if key is not None and not _says_where(request, parts):
                self._contents.put(key, parts)
        checkbox: bool = chrome.memo["checkbox"]
        renderer = RowRenderer(request, view, fields, checkbox=checkbox, memo=chrome.memo)
        page = await view.list_page(request, params)
        rows = await renderer.rows(page.items)
        alert = compat.resolve_class(self, "alert.info")
        content = join(
            request,
            parts,
            {
                "list_banner": slots.banner_html(page, len(rows), alert),
                "list_rows": slots.rows_html(rows, len(fields) + (2 if checkbox else 1))
                + renderer.shared_cells(),
                "list_summary": slots.summary_html(page),
                "list_pages": slots.pagination_html(page, partial(compat.resolve_icon, self)),
                "list_total": str(page.total.value),
                TERM_SLOT: request.query_params.get("q", ""),
            },
        )
        filters = (
            FILTER_FIELDS if chrome.memo["filters_script"] else filter_builder_json(request, view)
        )
        raw_filter = html_safe_json(request.query_params.get("filter"))
        values = {"content": content, "filters": filters or "", "raw_filter": raw_filter}
        return HTMLResponse(chrome.fill(request, values | {"total": str(page.total.value)}))

    @cached_property
    def _term_stand_in(self) -> str:
        """What a list's content is rendered with in place of a search term (`SAFE_TERM`)."""
        return f"term{self._slots.token}"

    @cached_property
    def _content_slots(self) -> dict[str, Any]:
        """What the `content` block is given for the parts made from the rows: slots."""
        names = ("list_banner", "list_rows", "list_summary", "list_pages", "list_total")
        slot = {name: self._slots.marker(name) for name in names}
        return slot | {"total": slot["list_total"]}

    async def _list_context(
        self,
        request: Request,
        view: ListingMixin,
        params: ListParams,
        fields: list[BaseField],
        context: dict[str, Any],
    ) -> dict[str, Any]:
        """What `list.html` reads, but the rows and what is made from them."""
        filter_logic, filter_chips = compat.active_filter_chips(view, request, params)
        actions = await view.get_all_actions(request)
        exports = _exports(view, actions)
        export_url = request.url_for(f"{self.route_name}:export-form", key=view.key)
        return context | {
            "request": request,
            "view": view,
            "title": view.title(request),
            compat.ACTIONS_KEY: actions,
            "export_form_url": export_url.path if exports else None,
            "row_actions": {},
            "fields": fields,
            "all_fields": view.get_fields_list(request),
            "list_params": params,
            "filter_logic": filter_logic,
            "filter_chips": filter_chips,
            "filter_builder_fields": filter_builder_json(request, view),
            "filter_fields_script": filter_fields_script(request, view, self.route_name),
            "raw_filter": request.query_params.get("filter"),
        }

    async def _list_chrome(
        self,
        request: Request,
        view: ListingMixin,
        params: ListParams,
        fields: list[BaseField],
        context: dict[str, Any],
    ) -> Chrome:
        """The list page around its `content` block, kept per view and viewer; a page that
        shows flash messages is rendered for itself. On a miss, `context` is filled in."""
        key = None
        if not context["flashed_messages"]:
            key = self._chromes.key(request, view.list_template, str(view.key))
            chrome = self._chromes.get(key)
            if chrome is not None:
                return chrome
        context |= await self._list_context(request, view, params, fields, context)
        marker = self._slots.marker
        template = self.templates.env.get_template(view.list_template)
        chrome = render_chrome(
            request,
            template,
            context
            | {
                "total": EncodedJSON(marker("total")),
                "raw_filter": EncodedJSON(marker("raw_filter")),
                "filter_builder_fields": context["filter_builder_fields"]
                and EncodedJSON(marker("filters")),
            },
            self._slots,
        )
        chrome.memo["checkbox"] = bool(context[compat.ACTIONS_KEY])
        chrome.memo["filters_script"] = bool(context["filter_fields_script"])
        if key is not None:
            self._chromes.put(key, chrome)
            chrome.kept = True
        return chrome

    async def relation_lookup(self, request: Request) -> Response:
        view = compat.find_view_by_key(self, request.path_params.get("key"))
        if not isinstance(view, ListingMixin) or request.query_params.getlist("pks"):
            return await super().relation_lookup(request)
        if not view.is_accessible(request):
            return JSONResponse(None, status_code=403)
        request.state.action = RequestAction.RELATION_LOOKUP
        skip = _bounded(request.query_params.get("skip"), 0, 0, view.max_page_offset)
        limit = _bounded(request.query_params.get("limit"), 20, 1, LOOKUP_PAGE_MAX)
        q = request.query_params.get("q") or None
        try:
            items = await view.find_all(
                request, skip=skip, limit=limit + 1, q=q, sorts=[(str(view.pk_attr), "asc")]
            )
        except HTTPException as error:
            return JSONResponse({"msg": error.detail}, status_code=error.status_code)
        more = len(items) > limit
        results = [await _select2_item(view, obj, request) for obj in items[:limit]]
        # select2 asks for the next page while page * limit < total.
        return JSONResponse({"items": results, "total": skip + len(results) + (1 if more else 0)})


async def _select2_item(view: ListingMixin, obj: Any, request: Request) -> dict[str, Any]:
    """What the picker's script reads: the key, and the HTML of the option and the choice.

    starlette-admin serializes every field of every option (formatting dates and
    looking up country names) only for the script to read these three values."""
    return {
        str(view.pk_attr): await view.get_serialized_pk_value(request, obj),
        compat.RELATION_META_KEY: {
            "select2": {
                "selection": await view.select2_selection(obj, request),
                "result": await view.select2_result(obj, request),
            },
            "repr": await view.repr(obj, request),
        },
    }


TERM_SLOT = "list_term"
SAFE_TERM = re.compile(r"[A-Za-z0-9_.~-]{1,100}")
"""A search term that reads the same in HTML and in a URL (escaping leaves it as it is):
the lists searched for such terms share one `content` block, the term filled in."""


def _exports(view: ListingMixin, actions: list[dict[str, Any]]) -> Any:
    """The view's export form maker, when its Export action is among the user's `actions`."""
    offered = any(action.get("name") == "export" for action in actions)
    return getattr(view, "export_form", None) if offered else None


def _with_term_slot(request: Request, stand_in: str) -> Request | None:
    """`request` searching for `stand_in` instead of its one `SAFE_TERM` (else None)."""
    terms = request.query_params.getlist("q")
    if len(terms) != 1 or not SAFE_TERM.fullmatch(terms[0]):
        return None
    query = [(k, stand_in if k == "q" else v) for k, v in request.query_params.multi_items()]
    return Request({**request.scope, "query_string": urlencode(query).encode()})


def _list_params(request: Request) -> tuple[tuple[str, str], ...]:
    """The URL's parameters but where in the list the page is (the pages of one list
    share a `content` block)."""
    items = request.query_params.multi_items()
    return tuple((name, value) for name, value in items if name not in POSITION_PARAMS)


def _says_where(request: Request, parts: tuple[str, ...]) -> bool:
    """Whether rendered `parts` still mention the page's position (`page=3`, an input
    named `after`, a keyset token): then they are not shared with the list's other pages."""
    text = "".join(parts[::2])
    for name in POSITION_PARAMS:
        value = request.query_params.get(name)
        forms = [f"{name}={value}", quote_plus(f"{name}={value}"), f'name="{name}"']
        if value and ((len(value) >= 8 and value in text) or any(f in text for f in forms)):
            return True
    return False


def list_url_from_start(request: Request, **overrides: Any) -> str:
    """starlette-admin's `list_url`, as a path (the page's own origin is implied: a list
    names it some twenty times); where it resets the page (`page=None`, on a new sort,
    page size or column set) the keyset position is dropped too."""
    if "page" in overrides and overrides["page"] is None:
        for name in POSITION_PARAMS:
            overrides.setdefault(name, None)
    url = urlsplit(list_url(request, **overrides))
    return url.path + (f"?{url.query}" if url.query else "")


class EncodedJSON(Markup):
    """JSON already encoded for a `<script>` block: the `tojson` filter passes it through."""


_STATIC_FILTERS: dict[tuple[Any, ...], tuple[EncodedJSON, str]] = {}

FILTER_FIELDS = "window.adminFilterFields"
"""What the list's script reads the filter builder's fields from, when they come from
their own cacheable script (`filter_fields_script`) rather than inline."""


def filter_builder_json(request: Request, view: ListingMixin) -> EncodedJSON | None:
    """The filter builder's JSON: every searchable field, its filters and their choices.

    starlette-admin rebuilds it on every request, turning each lazily translated label
    into text (8% of a customer list page). Where every choice is fixed in code it
    depends only on the view, the locale and the fields the user may see, and is kept by
    those. starlette-admin's own choice loaders (countries, currencies, time zones)
    read only the locale; any other `choices_loader` makes it built afresh each time,
    so a new choice shows at once."""
    kept = _static_filters(request, view)
    return (kept[0] if kept else _encoded(compat.filter_builder_fields(view, request))) or None


def _static_filters(request: Request, view: ListingMixin) -> tuple[EncodedJSON, str] | None:
    """The kept filter JSON and its content hash; None where a choice is loaded per request."""
    fields = view.get_fields_list(request, include_nested=True)
    if any(_loads_choices(field) for field in fields):
        return None
    key = (view.key, get_locale(), tuple(field.name for field in fields))
    found = _STATIC_FILTERS.get(key)
    if found is None:
        if len(_STATIC_FILTERS) >= 1024:
            _STATIC_FILTERS.clear()
        encoded = _encoded(compat.filter_builder_fields(view, request))
        digest = hashlib.sha256(encoded.encode()).hexdigest()[:12]
        found = _STATIC_FILTERS[key] = (encoded, digest)
    return found


def filter_fields_script(request: Request, view: ListingMixin, admin: str) -> str | None:
    """The URL of the script that sets `FILTER_FIELDS`, versioned by its content, when
    the fields are kept (`_static_filters`): ten kilobytes a browser then fetches once
    per view, locale and set of fields, instead of with every list page. `admin` is the
    admin's route name."""
    kept = _static_filters(request, view)
    if kept is None or not kept[0]:
        return None
    url = request.url_for(f"{admin}:filter-fields", key=view.key)
    return f"{url.path}?v={kept[1]}"


def _loads_choices(field: BaseField) -> bool:
    """Whether `field` loads its choices per request with a loader of the application's."""
    loader = getattr(field, "choices_loader", None)
    return loader is not None and not loader.__module__.startswith("starlette_admin.")


def _encoded(fields: Any) -> EncodedJSON:
    return EncodedJSON(html_safe_json(fields) if fields else "")


def _bounded(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return min(high, max(low, value))
