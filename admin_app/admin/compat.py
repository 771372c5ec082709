"""Every private name of starlette-admin the project uses, behind public, typed names.

Why this module exists: starlette-admin's public hooks do not reach everything this admin
does (the record's history on its detail page, refusing an edit per record, imports that
save all rows or none, the fast list engine), so a few of its private methods, attributes,
template partials and keys are called, read or overridden. Scattered over the code, a
release that renamed one would break a page at run time, somewhere. Here each is named
once: code elsewhere calls the wrappers below, overrides the public hooks of
`AdminPages`, and uses the constants; `tests/admin/test_compat.py` pins the tables at the
end of this module against the installed starlette-admin and fails, naming the name, if
one changed, and fails if a private name appears anywhere else in `admin_app`.

What an upgrade must check: run `pytest tests/admin/test_compat.py` first. For each
failure, read the new release's source of that name, adapt its wrapper (or bridge) here
and its entry in the tables, then run tests/admin and tests/e2e: a method can keep its
parameters and still change what it does (`detail_context` copies what the stock detail
page passes its template, for one). Where a release makes a name public, use the public
name and drop the entry.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import starlette_admin
from jinja2 import Environment
from sqlalchemy import Select
from starlette.datastructures import URL, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette_admin import helpers
from starlette_admin.auth import login_not_required
from starlette_admin.base import BaseAdmin
from starlette_admin.contrib.sqla import Admin, ModelView
from starlette_admin.contrib.sqla.filters import build_filter_clause
from starlette_admin.fields import BaseField, EnumField
from starlette_admin.fields import CountryField as StockCountryField
from starlette_admin.filters.base import FilterGroup
from starlette_admin.i18n import get_countries_list, get_locale
from starlette_admin.routing import route
from starlette_admin.types import FilterChip, ListParams
from starlette_admin.views import BaseModelView, BaseView, InlineModelView

VERSION: str = starlette_admin.__version__
"""The installed starlette-admin release (the pins below were read off 1.0.3)."""

F = TypeVar("F", bound=Callable[..., Any])

ORIGIN_PARAM = "_origin"
"""Query parameter of the page to return to, carried by starlette-admin's links."""

ACTIONS_KEY = "_actions"
"""Template context key of the actions `list.html`, `detail.html` and `row-actions.html` show."""

RELATION_META_KEY = "_meta"
"""Key of a serialized related record holding its `repr` (and select2 HTML)."""


# Admin ------------------------------------------------------------------------------


def admin_of(view: BaseView) -> BaseAdmin:
    """The admin `view` was added to with `add_view`."""
    admin = view._admin
    if admin is None:
        raise RuntimeError(f"{type(view).__name__} is used before it was added to the admin")
    return admin


def model_views(admin: BaseAdmin) -> list[BaseModelView]:
    """Every model view added to `admin`, in order."""
    return list(admin._model_views)


def find_view_by_key(admin: BaseAdmin, key: str | None) -> BaseModelView:
    """The model view whose key is `key`; a 404 when there is none."""
    return admin._find_view_by_key(key)


def template_response(
    admin: BaseAdmin, request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """`name` rendered in the admin's layout (menu, user, messages), as its own pages are."""
    return admin._template_response(request, name, context, status_code)


async def find_object_or_404(
    admin: BaseAdmin, request: Request, view: BaseModelView, pk: str | None, action: str
) -> Any:
    """The record `pk` of `view`; a 404 when it is missing or not found."""
    return await admin._find_object_or_404(request, view, view.key, pk, action)


async def detail_context(
    admin: BaseAdmin, request: Request, view: BaseModelView, obj: Any
) -> dict[str, Any]:
    """What starlette-admin's detail page passes `detail.html` (the test reads the keys off
    its source), so a page that adds to it need not copy the stock route."""
    return {
        "title": view.title(request),
        "view": view,
        "raw_obj": obj,
        ACTIONS_KEY: await view.get_row_actions_for_obj(request, obj),
        "obj": await view.serialize(obj, request),
        "inlines": await admin._detail_inlines_context(request, view, obj),
    }


async def form_body(
    admin: BaseAdmin, request: Request, view: BaseModelView, obj: Any
) -> dict[str, Any]:
    """A create or edit form's fields rendered for `obj` (a serialized record or the
    defaults): `form_body`, `widget_additional_css`, `widget_additional_js`."""
    config: dict[str, Any] = {}
    await admin._render_form_body(request, view, obj, None, config)
    return config


async def create_defaults(admin: BaseAdmin, request: Request, view: BaseModelView) -> Any:
    """The empty create form's values: each field's default, serialized."""
    return await admin._create_default_obj(request, view)


async def form_inlines(
    admin: BaseAdmin, request: Request, view: BaseModelView, parent: Any = None
) -> Any:
    """The inline child forms of a create (`parent` None) or edit form."""
    return await admin._inlines_context(request, view, parent=parent)


async def detail_inlines(
    admin: BaseAdmin, request: Request, view: BaseModelView, parent: Any
) -> list[dict[str, Any]]:
    """The inline child records a detail page shows."""
    return await admin._detail_inlines_context(request, view, parent)


def resolve_icon(admin: BaseAdmin, name: str) -> str:
    """The theme's CSS classes for the icon `name`, such as `"field.boolean_true"`."""
    return admin._resolve_icon(name)


def resolve_class(admin: BaseAdmin, name: str) -> str:
    """The theme's CSS classes for the role `name`, such as `"alert.info"`."""
    return admin._resolve_class(name)


def list_display_fields(request: Request, view: BaseModelView, params: Any) -> list[BaseField]:
    """The list's columns: the fields the user may see, as chosen by the `cols` parameter."""
    return BaseAdmin._list_display_fields(request, view, params)


def carry_origin(request: Request) -> str | None:
    """The page a link from this request should lead back to, as starlette-admin's own
    links carry it in `_origin`: this list or detail page, else the one it came from."""
    return helpers._carry_origin(request)


def requested_origin(request: Request) -> str | None:
    """The `_origin` this request carries, unchecked (pass it to `safe_redirect_url`)."""
    return request.query_params.get(ORIGIN_PARAM)


def with_origin(url: URL, origin: str | None) -> URL:
    """`url` carrying `origin` as its page to return to, if there is one."""
    return url.include_query_params(**{ORIGIN_PARAM: origin}) if origin else url


def is_login_exempt(endpoint: Any) -> bool:
    """Whether `endpoint` was marked `@login_not_required`."""
    return bool(getattr(endpoint, "_login_not_required", False))


def route_of(method: Callable[..., Any]) -> tuple[str, list[str], str | None] | None:
    """A method's `@route` mark (path, methods, name), or None when it has none."""
    path = getattr(method, "_route_path", None)
    if path is None:
        return None
    return path, list(method._route_methods), method._route_name  # type: ignore[attr-defined]


# Model views ------------------------------------------------------------------------


def pk_column(view: ModelView) -> Any:
    """The primary key's mapped attribute, or a tuple of them for a composite key."""
    return view._pk_column


def action_specs(view: BaseModelView) -> dict[str, dict[str, Any]]:
    """The view's batch actions by name, as declared (`text`, `confirmation`, ...)."""
    return view._actions


def row_action_specs(view: BaseModelView) -> dict[str, dict[str, Any]]:
    """The view's row actions by name, as declared (`is_link`, `form`, `confirmation`, ...)."""
    return view._row_actions


def inline_views(view: BaseModelView) -> list[InlineModelView]:
    """The view's inlines, instantiated."""
    return list(view._inline_instances)


def inline_prefix(inline: InlineModelView) -> str:
    """The start of an inline's form names: `inlines.<key>` (rows are `<prefix>.<n>.<field>`)."""
    return inline._prefix()


def find_foreign_view(view: BaseModelView, key: str) -> BaseModelView:
    """The view of the related model a relation field of `view` names by `key`."""
    return view._find_foreign_view(key)


async def arrange_data(
    view: ModelView, request: Request, data: dict[str, Any], is_edit: bool = False
) -> dict[str, Any]:
    """The form's data with relation fields loaded as records."""
    return await view._arrange_data(request, data, is_edit)


def emit_after_create_committed(view: BaseModelView, request: Request, obj: Any) -> Awaitable[None]:
    """Run `after_create_committed` and emit its event, as starlette-admin's `create` does."""
    return view._emit_after_create_committed(request, obj)


def emit_before_delete(view: BaseModelView, request: Request, pk: Any, obj: Any) -> Awaitable[None]:
    """Run `before_delete` and emit its event, as starlette-admin's `delete` does."""
    return view._emit_before_delete(request, pk, obj)


def emit_after_delete(view: BaseModelView, request: Request, pk: Any, obj: Any) -> Awaitable[None]:
    """Run `after_delete` and emit its event, as starlette-admin's `delete` does."""
    return view._emit_after_delete(request, pk, obj)


def emit_after_delete_committed(
    view: BaseModelView, request: Request, pk: Any, obj: Any
) -> Awaitable[None]:
    """Run `after_delete_committed` and emit its event, as starlette-admin's `delete` does."""
    return view._emit_after_delete_committed(request, pk, obj)


def enum_choices(field: EnumField, request: Request) -> Any:
    """The `(value, label)` pairs a choice field offers this request."""
    return field._get_choices(request)


def parse_list_params(
    view: BaseModelView, request: Request, query_params: QueryParams | None = None
) -> ListParams:
    """The list page's parameters (page, size, sort, search, filters, columns), checked."""
    return view._parse_list_params(request, query_params)


def parse_filter_string(view: BaseModelView, raw: str) -> Any:
    """A `filter` parameter as starlette-admin reads it: a tree of `{"logic", "rules"}`
    groups and `{"field", "filter", "value"}` rules; `ValueError` when unreadable."""
    return view._parse_filter_string(raw)


def serialize_filter_string(view: BaseModelView, node: Any) -> str:
    """A tree of the shape `parse_filter_string` returns, written back as a `filter`
    parameter (values quoted where the format needs it)."""
    return str(view._serialize_filter_string(node))


def add_filter_field(view: BaseModelView, field: BaseField, name: str) -> None:
    """Offer `field` to `view`'s filters (builder, URL, chips) under the dotted `name`,
    as starlette-admin offers a nested field, without making it a column or an input."""
    field.name = field._name = name
    view._all_fields.append(field)


def active_filter_chips(
    view: BaseModelView, request: Request, params: ListParams
) -> tuple[str, list[FilterChip]]:
    """The filters in force, as the list page shows them: their logic and their chips."""
    return view._active_filter_chips(request, params)


def filter_builder_fields(view: BaseModelView, request: Request) -> list[dict[str, Any]]:
    """What the filter builder's script offers: fields, operators, choices."""
    return view._filter_builder_fields(request)


async def apply_search_and_filters(
    view: ModelView,
    request: Request,
    stmt: Select[Any],
    q: str | None,
    filters: FilterGroup | None,
) -> Select[Any]:
    """`stmt` with the search term and the filters applied. As starlette-admin's
    `_apply_search_and_filters`, but a filter's field is looked up among every field
    the filters offer, nested ones included (it looks among the top-level fields only,
    and fails with a KeyError on a nested or relation filter its own parser accepted)."""
    if q is not None:
        stmt = stmt.where(await view.build_full_text_search_query(request, q, view.model))
    if filters is None or filters.is_empty():
        return stmt
    fields = {f.name: f for f in view.get_fields_list(request, include_nested=True)}
    clause = build_filter_clause(filters, fields, view.get_filter_registry(), view, request)
    return stmt if clause is None else stmt.where(clause)


def default_sort(view: BaseModelView) -> list[tuple[str, bool]]:
    """The order used when the URL names none: `(field, descending)` pairs."""
    return view._default_sort()


# Templates --------------------------------------------------------------------------


def related_repr(value: Any) -> str | None:
    """The name of a serialized related record, or None if `value` is not one."""
    if isinstance(value, dict) and RELATION_META_KEY in value:
        return str(value[RELATION_META_KEY].get("repr", ""))
    return None


def add_template_names(env: Environment) -> None:
    """Public names for templates: `{{ value | related_repr }}`, `field_choices(field, request)`."""
    env.filters["related_repr"] = related_repr
    env.globals["field_choices"] = enum_choices


# Pages ------------------------------------------------------------------------------

_SERVER_ERROR = HTTPException(500)


def _routed_as(stock: Callable[..., Any]) -> Callable[[F], F]:
    """Give a bridge the route of the stock method it replaces: starlette-admin builds its
    routes from the `@route` marks it finds, and a method without one drops its route."""
    mark = route_of(stock)
    assert mark is not None, f"{stock.__qualname__} has no route"
    path, methods, name = mark
    decorate: Callable[[F], F] = route(path, methods=methods, name=name)
    return decorate


class AdminPages(Admin):
    """starlette-admin's `Admin` with a public hook for each page this project changes.

    Override a hook and call `super()` for the stock page, as with Django's
    `ModelAdmin.changeform_view`. Each private method stays here, bridged to its hook."""

    def _setup_templates(self) -> None:
        self.setup_templates()

    def setup_templates(self) -> None:
        """Build `self.templates`; extend its environment after calling super()."""
        super()._setup_templates()

    async def _render_error(self, request: Request, exc: Exception = _SERVER_ERROR) -> Response:
        return await self.error_page(request, exc)

    async def error_page(self, request: Request, exc: Exception) -> Response:
        """The page for an HTTP error raised inside the admin."""
        response: Response = await super()._render_error(request, exc)
        return response

    @_routed_as(BaseAdmin._render_list)
    async def _render_list(self, request: Request) -> Response:
        return await self.list_page(request)

    async def list_page(self, request: Request) -> Response:
        """A model's list page."""
        response: Response = await super()._render_list(request)
        return response

    @_routed_as(BaseAdmin._render_detail)
    async def _render_detail(self, request: Request) -> Response:
        return await self.detail_page(request)

    async def detail_page(self, request: Request) -> Response:
        """A record's detail page."""
        response: Response = await super()._render_detail(request)
        return response

    @_routed_as(BaseAdmin._render_edit)
    async def _render_edit(self, request: Request) -> Response:
        return await self.edit_page(request)

    async def edit_page(self, request: Request) -> Response:
        """A record's edit form (GET) and its submission (POST)."""
        response: Response = await super()._render_edit(request)
        return response

    @_routed_as(BaseAdmin._render_create)
    async def _render_create(self, request: Request) -> Response:
        return await self.create_page(request)

    async def create_page(self, request: Request) -> Response:
        """A model's create form (GET) and its submission (POST)."""
        response: Response = await super()._render_create(request)
        return response

    async def _inlines_context(
        self,
        request: Request,
        view: BaseModelView,
        parent: Any = None,
        inline_data: Any = None,
    ) -> list[dict[str, Any]]:
        return await self.inlines_context(request, view, parent, inline_data)

    async def inlines_context(
        self, request: Request, view: BaseModelView, parent: Any, inline_data: Any
    ) -> list[dict[str, Any]]:
        """What a create or edit form's inline sections render: `[{"inline", "rows"}, …]`,
        from the parent's rows (`parent`) or a submitted form shown again (`inline_data`)."""
        result: list[dict[str, Any]] = await super()._inlines_context(
            request, view, parent=parent, inline_data=inline_data
        )
        return result

    async def _save_inlines(
        self, request: Request, view: BaseModelView, parent: Any, inline_data: Any
    ) -> None:
        await self.save_inlines(request, view, parent, inline_data)

    async def save_inlines(
        self, request: Request, view: BaseModelView, parent: Any, inline_data: Any
    ) -> None:
        """Write a saved form's inline rows (`{inline key: [row, …]}`, each row
        `{"index", "pk", "data", "delete", "errors"}`) after its parent was written."""
        await super()._save_inlines(request, view, parent, inline_data)

    @_routed_as(BaseAdmin._render_import)
    async def _render_import(self, request: Request) -> Response:
        return await self.import_endpoint(request)

    async def import_endpoint(self, request: Request) -> Response:
        """The import dialog's JSON endpoint: a preview (`?preview=1`) or the import."""
        response: Response = await super()._render_import(request)
        return response

    @_routed_as(BaseAdmin._render_relation_lookup)
    async def _render_relation_lookup(self, request: Request) -> Response:
        return await self.relation_lookup(request)

    async def relation_lookup(self, request: Request) -> Response:
        """The relation picker's JSON endpoint: chosen keys (`pks`) or a search page."""
        response: Response = await super()._render_relation_lookup(request)
        return response


# Fields -------------------------------------------------------------------------------


@dataclass
class CountryField(StockCountryField):
    """starlette-admin's country field, with each locale's country names built once: the
    stock field builds the list of some 250 names again for every name it shows."""

    def _get_choices(self, request: Request) -> Any:
        return _countries(get_locale())

    def _get_label(self, value: Any, request: Request) -> Any:
        name = _country_names(get_locale()).get(value) if isinstance(value, str) else None
        return name if name is not None else super()._get_label(value, request)


@lru_cache(maxsize=64)
def _countries(locale: str) -> tuple[tuple[str, str], ...]:
    """The country codes and names in `locale` (babel's data: fixed for the process).
    Called within a request of that locale, which `get_countries_list` reads."""
    return tuple(get_countries_list())


@lru_cache(maxsize=64)
def _country_names(locale: str) -> dict[str, str]:
    return dict(_countries(locale))


# The pins ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pin:
    """A private name of starlette-admin the project relies on."""

    owner: Any
    """The starlette-admin class (for an instance attribute, the class of its instances),
    module or decorator that defines it."""

    name: str

    shape: str | None = None
    """Parameters the project relies on, as `signature_shape` writes them; None for a value."""


_STARS: dict[Any, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


def signature_shape(function: Callable[..., Any]) -> str:
    """`function`'s parameters by name and kind, without types or defaults:
    `(self, request, exc=…)`, with `/` and `*` where the kinds change."""
    params = list(inspect.signature(function).parameters.values())
    parts: list[str] = []
    for i, param in enumerate(params):
        if param.kind is param.KEYWORD_ONLY and all(p.kind < p.VAR_POSITIONAL for p in params[:i]):
            parts.append("*")
        prefix = _STARS.get(param.kind, "")
        default = "" if param.default is param.empty else "=…"
        parts.append(f"{prefix}{param.name}{default}")
        last_positional = i + 1 == len(params) or params[i + 1].kind is not param.POSITIONAL_ONLY
        if param.kind is param.POSITIONAL_ONLY and last_positional:
            parts.append("/")
    return f"({', '.join(parts)})"


def owner_name(owner: Any) -> str:
    """How a message names a pin's owner: `BaseAdmin`, `starlette_admin.helpers`."""
    return str(getattr(owner, "__qualname__", None) or getattr(owner, "__name__", owner))


CALLED: tuple[Pin, ...] = (
    Pin(BaseAdmin, "_find_view_by_key", "(self, key)"),
    Pin(BaseAdmin, "_template_response", "(self, request, name, context=…, status_code=…)"),
    Pin(BaseAdmin, "_find_object_or_404", "(self, request, view, key, pk, action)"),
    Pin(BaseAdmin, "_detail_inlines_context", "(self, request, view, parent)"),
    Pin(BaseAdmin, "_render_form_body", "(self, request, view, obj, errors, config)"),
    Pin(BaseAdmin, "_create_default_obj", "(self, request, view)"),
    Pin(BaseAdmin, "_inlines_context", "(self, request, view, parent=…, inline_data=…)"),
    Pin(InlineModelView, "_prefix", "(self)"),
    Pin(BaseAdmin, "_resolve_icon", "(self, name)"),
    Pin(BaseAdmin, "_resolve_class", "(self, name)"),
    Pin(BaseAdmin, "_list_display_fields", "(request, view, list_params)"),
    Pin(helpers, "_carry_origin", "(request)"),
    Pin(ModelView, "_arrange_data", "(self, request, data, is_edit=…)"),
    Pin(BaseModelView, "_emit_after_create_committed", "(self, request, obj)"),
    Pin(BaseModelView, "_emit_before_delete", "(self, request, pk, obj)"),
    Pin(BaseModelView, "_emit_after_delete", "(self, request, pk, obj)"),
    Pin(BaseModelView, "_emit_after_delete_committed", "(self, request, pk, obj)"),
    Pin(BaseModelView, "_parse_list_params", "(self, request, query_params=…)"),
    Pin(BaseModelView, "_active_filter_chips", "(self, request, list_params)"),
    Pin(BaseModelView, "_parse_filter_string", "(raw)"),
    Pin(BaseModelView, "_serialize_filter_string", "(node)"),
    Pin(BaseModelView, "_filter_builder_fields", "(self, request)"),
    Pin(BaseModelView, "_default_sort", "(self)"),
    Pin(EnumField, "_get_choices", "(self, request)"),
)
"""Private methods and functions called, each only by its wrapper above."""

READ: tuple[Pin, ...] = (
    Pin(BaseView, "_admin"),
    Pin(BaseAdmin, "_model_views"),
    Pin(ModelView, "_pk_column"),
    Pin(BaseModelView, "_row_actions"),
    Pin(BaseModelView, "_actions"),
    Pin(BaseModelView, "_inline_instances"),
    Pin(BaseModelView, "_find_foreign_view", "(key)"),
    Pin(BaseModelView, "_all_fields"),
    Pin(BaseField, "_name"),
    Pin(login_not_required, "_login_not_required"),
    Pin(route, "_route_path"),
    Pin(route, "_route_methods"),
    Pin(route, "_route_name"),
)
"""Private attributes read: set on instances of `owner` (on functions, for a decorator)."""

OVERRIDDEN: dict[tuple[type[Any], str], str] = {
    (BaseAdmin, "_setup_templates"): "(self)",
    (BaseAdmin, "_render_error"): "(self, request, exc=…)",
    (BaseAdmin, "_render_list"): "(self, request)",
    (BaseAdmin, "_render_detail"): "(self, request)",
    (BaseAdmin, "_render_edit"): "(self, request)",
    (BaseAdmin, "_render_create"): "(self, request)",
    (EnumField, "_get_choices"): "(self, request)",
    (EnumField, "_get_label"): "(self, value, request)",
    (BaseAdmin, "_render_import"): "(self, request)",
    (BaseAdmin, "_render_relation_lookup"): "(self, request)",
    (BaseAdmin, "_inlines_context"): "(self, request, view, parent=…, inline_data=…)",
    (BaseAdmin, "_save_inlines"): "(self, request, view, parent, inline_data)",
}
"""Private methods overridden, each only by a class of this module (the pages' bridges in
`AdminPages`, `CountryField`), with the parameters starlette-admin calls it with."""

KEYS: tuple[Pin, ...] = (
    Pin(helpers, ORIGIN_PARAM),
    Pin(BaseAdmin._render_detail, ACTIONS_KEY),
    Pin("row-actions.html", ACTIONS_KEY),
    Pin(BaseModelView.serialize, RELATION_META_KEY),
)
"""Private strings (a query parameter, context and data keys): the source of `owner` (an
object, or the name of a stock template) uses each."""

TEMPLATES: tuple[str, ...] = (
    "fields/form/_error.html",
    "fields/list/_truncated.html",
)
"""starlette-admin's private template partials that the project's templates include."""
