"""The admin's list page and relation picker, served through `ListingMixin` views.

`FastListRoutes` is mixed into the admin (`AppAdmin`); it replaces two of
starlette-admin's endpoints for views that use `ListingMixin` and leaves every
other view on starlette-admin's own code:

- `GET /{key}/list`: one keyset page, a cheap total, rows rendered by
  `admin_app.admin.cells`, and `templates/admin/list.html`;
- `GET /_api/{key}/relation-lookup`: the JSON behind relation pickers. The stock
  endpoint counts every matching row to tell select2 whether to offer more; here
  one extra row is fetched instead, so a million-row table costs one indexed query.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import pass_context
from markupsafe import Markup
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope
from starlette_admin.contrib.sqla import Admin
from starlette_admin.fields import BaseField
from starlette_admin.flash import get_flashed_messages
from starlette_admin.helpers import html_safe_json, list_url
from starlette_admin.i18n import get_locale
from starlette_admin.routing import route
from starlette_admin.types import ListParams, RequestAction

from admin_app.admin import list_slots
from admin_app.admin.cells import RowRenderer
from admin_app.admin.chrome import Shell, ShellCache, Slots
from admin_app.admin.listing import POSITION_PARAMS, ListingMixin, Position

LOOKUP_PAGE_MAX = 100
"""Most results one relation-picker request returns."""


class FastListRoutes(Admin):
    """The list page and relation look-up for views built on `ListingMixin`."""

    READ_ONLY_ROUTES = re.compile(r"/(?:[^/]+/list|_api/[^/]+/relation-lookup)")
    """The admin routes whose GETs only read (`reads_only`)."""

    def reads_only(self, scope: Scope) -> bool:
        """True for a GET of a list page or relation picker: requests that write nothing
        but the login check's `last_seen_at`, which `DBSessionMiddleware` then runs
        without a transaction."""
        if scope["method"] not in ("GET", "HEAD"):
            return False
        path: str = scope["path"]
        prefix = scope.get("root_path", "") + self.base_url.rstrip("/")
        return path.startswith(prefix) and bool(self.READ_ONLY_ROUTES.fullmatch(path, len(prefix)))

    def _setup_templates(self) -> None:
        super()._setup_templates()
        env = self.templates.env
        env.globals["list_url"] = list_url_from_start
        # A page resolves some 90 route URLs (menu, assets, actions); each lookup walks
        # the route table. The result depends only on the route and where the app is
        # served from, so it is remembered.
        memo = _UrlMemo()
        env.globals["url_for"] = pass_context(
            lambda context, name, /, **params: memo.url_for(context["request"], name, params)
        )
        static = f"{self.route_name}:static"

        def static_url(request: Request, path: str, v: Any = None) -> str:
            url = memo.url_for(request, static, {"path": path})
            return str(url if v is None else url.include_query_params(v=v))

        env.globals["static_url"] = static_url
        stock_tojson = env.filters["tojson"]
        env.filters["tojson"] = lambda value, *args: (
            value if isinstance(value, EncodedJSON) else stock_tojson(value, *args)
        )
        self._filter_builder_json = _FilterBuilderMemo()
        self._slots = Slots()
        self._shells = ShellCache()

    @route("/{key}/list", methods=["GET"], name="list")
    async def _render_list(self, request: Request) -> Response:
        view = self._find_view_by_key(request.path_params.get("key"))
        if not isinstance(view, ListingMixin):
            response: Response = await super()._render_list(request)
            return response
        request.state.action = RequestAction.LIST
        if not view.is_accessible(request):
            raise HTTPException(403)
        Position.from_query(request.query_params)  # a malformed position: 400 before any work
        messages = get_flashed_messages(request)
        # A page with messages is shown once; a view's own template may show more state.
        keep = not messages and view.list_template == "list.html"
        key = self._shells.key(request, str(view.key)) if keep else None
        shell = self._shells.get(key) if key is not None else None
        # The list parameters and columns depend only on the URL and the user's fields,
        # as the shell does, where the view reads them the stock way (`statements_kept`).
        known = shell.memo.get("params") if shell is not None else None
        if known is None:
            params = view._parse_list_params(request)
            fields = self._list_display_fields(request, view, params)
        else:
            params, fields = known
        if shell is None:
            shell = await self._render_shell(request, view, params, fields, messages)
            if key is not None and shell.shareable:
                self._shells.put(key, shell)
        if known is None and view.statements_kept:
            shell.memo["params"] = params, fields
        renderer = RowRenderer(request, view, fields, checkbox=shell.has_actions, memo=shell.memo)
        # Rows built from column values alone need no ORM objects (`plain_rows`).
        reads = renderer.plan.reads
        plain = reads is not None and view.plain_rows.cover(reads)
        page = await view.list_page(request, params, plain=plain, memo=shell.memo)
        rows = await renderer.rows(page.items)
        columns = len(fields) + (2 if shell.has_actions else 1)
        alert = self._resolve_class("alert.info")
        html = shell.fill(
            request,
            {
                "banner": list_slots.banner_html(page, len(rows), alert),
                "rows": list_slots.rows_html(rows, columns),
                "summary": list_slots.summary_html(page),
                "pages": list_slots.pagination_html(page, self._resolve_icon),
                "total": html_safe_json(page.total.value),
            },
        )
        return HTMLResponse(html)

    async def _render_shell(
        self,
        request: Request,
        view: ListingMixin,
        params: ListParams,
        fields: list[BaseField],
        messages: list[dict[str, Any]],
    ) -> Shell:
        """The list page without its rows: `list.html` with slots where they go."""
        actions = await view.get_all_actions(request)
        filter_logic, filter_chips = view._active_filter_chips(request, params)
        template = self.templates.env.get_template(view.list_template)
        html = template.render(
            {
                "request": request,
                "flashed_messages": messages,
                "slot": self._slots,
                "view": view,
                "title": view.title(request),
                "_actions": actions,
                "row_actions": {},
                "fields": fields,
                "all_fields": view.get_fields_list(request),
                "list_params": params,
                "filter_logic": filter_logic,
                "filter_chips": filter_chips,
                "filter_builder_fields": self._filter_builder_json.get(request, view),
                "raw_filter": request.query_params.get("filter"),
                "total": EncodedJSON(self._slots("total")),
            }
        )
        return Shell.cut(request, html, self._slots, has_actions=bool(actions))

    @route("/_api/{key}/relation-lookup", methods=["GET"], name="relation-lookup")
    async def _render_relation_lookup(self, request: Request) -> Response:
        view = self._find_view_by_key(request.path_params.get("key"))
        if not isinstance(view, ListingMixin) or request.query_params.getlist("pks"):
            response: Response = await super()._render_relation_lookup(request)
            return response
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
        "_meta": {
            "select2": {
                "selection": await view.select2_selection(obj, request),
                "result": await view.select2_result(obj, request),
            },
            "repr": await view.repr(obj, request),
        },
    }


def list_url_from_start(request: Request, **overrides: Any) -> str:
    """starlette-admin's `list_url`; where it resets the page (`page=None`, on a new sort,
    page size or column set) the keyset position is dropped too."""
    if "page" in overrides and overrides["page"] is None:
        for name in POSITION_PARAMS:
            overrides.setdefault(name, None)
    return list_url(request, **overrides)


class _UrlMemo:
    """`request.url_for`, remembered per route, parameters and serving origin."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.urls: dict[tuple[Any, ...], URL] = {}

    def url_for(self, request: Request, name: str, params: dict[str, Any]) -> URL:
        scope = request.scope
        key = (
            scope.get("scheme"),
            request.headers.get("host"),
            tuple(scope.get("server") or ()),
            scope.get("root_path"),
            name,
            tuple(sorted(params.items())),
        )
        try:
            url = self.urls.get(key)
        except TypeError:  # an unhashable parameter: nothing to remember
            return request.url_for(name, **params)
        if url is None:
            if len(self.urls) >= self.LIMIT:
                self.urls.clear()
            url = self.urls[key] = request.url_for(name, **params)
        return url


class EncodedJSON(Markup):
    """JSON already encoded for a `<script>` block: the `tojson` filter passes it through."""


class _FilterBuilderMemo:
    """The filter builder's JSON (every searchable field, its filters and their choices),
    remembered per view, locale and set of fields the user may see.

    starlette-admin rebuilds and encodes it on every list request, turning each lazily
    translated label into text on the way: 8% of a customer list page. Filters and
    their choices are fixed when the views are built, so only the locale (labels) and
    the user's field permissions change it."""

    LIMIT = 1024

    def __init__(self) -> None:
        self.encoded: dict[tuple[Any, ...], EncodedJSON] = {}

    def get(self, request: Request, view: ListingMixin) -> EncodedJSON | None:
        names = tuple(f.name for f in view.get_fields_list(request, include_nested=True))
        key = (view.key, get_locale(), names)
        found = self.encoded.get(key)
        if found is None:
            fields = view._filter_builder_fields(request)
            if len(self.encoded) >= self.LIMIT:
                self.encoded.clear()
            found = self.encoded[key] = EncodedJSON(html_safe_json(fields) if fields else "")
        return found or None


def _bounded(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = default
    return min(high, max(low, value))
