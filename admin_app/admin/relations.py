"""Relation managers: a record's related records, listed on its detail page.

A view names the to-many relations whose records its detail page lists:

    class CustomerView(AppModelView):
        relation_managers = ("orders",)

Each is the related view's own list page, narrowed to this record by the "is" filter on
the relation back (`Order.customer`, `admin_app.admin.filters`) and shown in a frame
(`?frame=1`: the page without the menu and header). So it is the whole list in small,
with nothing of its own to keep in step: keyset pages, sort, search, filters, totals,
export and bulk actions, the user's permissions and row scope. Links that leave the
list open in the page around it (`static/frame.js`).

The related view must be registered, and the relation back must be one of its fields
that can filter (in its `searchable_fields`); `resolve` says so at start-up otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import RelationshipProperty
from starlette.datastructures import URL
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.fields import HasOne

from admin_app.admin.compat import ORIGIN_PARAM

FRAME_PARAM = "frame"
"""The query parameter (`frame=1`) that renders a page for a frame: a relation manager's
list, or a form in its dialog. Such a page has no menu or header (`layout.html`), and
only our own pages may frame it (`SecurityHeadersMiddleware`)."""


def in_frame(request: Request) -> bool:
    """Whether the page is rendered for a frame (`FRAME_PARAM`)."""
    return request.query_params.get(FRAME_PARAM) == "1"


_PLAIN = re.compile(r"[\w.~-]+")
"""A key written as it is in a filter; any other is quoted."""


class RelationManagerError(Exception):
    """A view names a relation manager that cannot work; says which and what to do."""


@dataclass(frozen=True)
class RelationManager:
    """One to-many relation of a view, listed on its detail page."""

    relation: str
    """The relation on the view's model, such as `"orders"`."""
    label: str
    """The section's heading: the related view's menu label, such as `"Orders"`."""
    view: Any
    """The related records' view."""
    back: str
    """The related view's to-one field back to this record, such as `"customer"`."""

    def filter_for(self, pk: Any) -> str:
        """The list's `filter` parameter that narrows it to the record `pk`, in
        starlette-admin's filter syntax (`customer__is=42`)."""
        value = str(pk)
        if not _PLAIN.fullmatch(value):
            value = '"' + value.replace('"', "") + '"'
        return f"{self.back}__is={value}"

    def list_url(self, request: Request, pk: Any, *, frame: bool) -> URL:
        """The related list narrowed to `pk`: framed for the detail page, or whole."""
        url = request.url_for(f"{request.app.state.ROUTE_NAME}:list", key=self.view.key)
        params = {"filter": self.filter_for(pk)}
        return url.include_query_params(**params, **({FRAME_PARAM: "1"} if frame else {}))


def resolve(views: Sequence[Any]) -> None:
    """Give each view its `relations`, checking each declared relation manager."""
    by_model = {view.model: view for view in views}
    for view in views:
        names = getattr(view, "relation_managers", ())
        view.relations = tuple(_manager(view, name, by_model) for name in names)


def _manager(view: Any, name: str, by_model: dict[Any, Any]) -> RelationManager:
    where = f"{type(view).__name__}.relation_managers names {name!r}"
    prop = inspect(view.model).relationships.get(name)
    if not isinstance(prop, RelationshipProperty) or not prop.uselist:
        raise RelationManagerError(f"{where}: it must be a to-many relation of {view.model}.")
    related = by_model.get(prop.mapper.class_)
    if related is None:
        raise RelationManagerError(f"{where}: register a view of {prop.mapper.class_} first.")
    back = prop.back_populates
    fields = {field.name: field for field in related.fields}
    if not back or not isinstance(fields.get(back), HasOne):
        raise RelationManagerError(
            f"{where}: give the relation `back_populates` and {type(related).__name__} "
            f"a HasOne field of that name."
        )
    if not fields[back].searchable:
        raise RelationManagerError(
            f"{where}: add {back!r} to {type(related).__name__}.searchable_fields, "
            "so its list can be narrowed to one record."
        )
    label = related.menu_label or related.display_name
    return RelationManager(name, str(label), related, back)


async def shown(request: Request, view: Any, obj: Any) -> list[dict[str, Any]]:
    """The relation managers of `view` this user may see on `obj`'s detail page: their
    heading, the framed list and its title, the whole list, and the create form when
    allowed (with this record chosen): on its own page, returning here after the save,
    and framed for a dialog, returning to the framed list."""
    if not getattr(view, "relations", ()):
        return []
    pk = await view.get_pk_value(request, obj)
    name = await view.repr(obj, request)
    sections = []
    for manager in getattr(view, "relations", ()):
        related = manager.view
        if not related.is_accessible(request) or not _can_filter(request, manager):
            continue
        create = create_dialog = None
        if related.can_create(request):
            url = request.url_for(f"{request.app.state.ROUTE_NAME}:create", key=related.key)
            back = {manager.back: str(pk), ORIGIN_PARAM: _here(request)}
            create = str(url.include_query_params(**back))
            framed_list = manager.list_url(request, pk, frame=True)
            in_dialog = {**back, ORIGIN_PARAM: _path(framed_list), FRAME_PARAM: "1"}
            create_dialog = str(url.include_query_params(**in_dialog))
        sections.append(
            {
                "manager": manager,
                "title": f"{manager.label} of {name}",
                "frame_url": str(manager.list_url(request, pk, frame=True)),
                "list_url": str(manager.list_url(request, pk, frame=False)),
                "create_url": create,
                "create_dialog_url": create_dialog,
            }
        )
    return sections


def _here(request: Request) -> str:
    """This page's path and query: where a form opened from it returns after a save."""
    return _path(request.url)


def _path(url: URL) -> str:
    """`url` without its scheme and host, as `_origin` takes it."""
    return url.path + (f"?{url.query}" if url.query else "")


def chosen(
    request: Request, view: Any, form: dict[str, Any], find: Callable[[str], Any]
) -> dict[str, Any]:
    """The create form's values with each to-one field the URL names chosen
    (`?customer=42`, from a relation manager's Add button); a key that cannot name a
    record is left out. `find(key)` is the admin's view of that key."""
    for field in view.get_fields_list(request):
        raw = request.query_params.get(field.name)
        if raw is None or not isinstance(field, HasOne):
            continue
        coerce = getattr(find(str(field.key)), "coerce_pk", None)
        pk = coerce(raw) if coerce is not None else None
        if pk is not None:
            form[field.name] = pk
    return form


def _can_filter(request: Request, manager: RelationManager) -> bool:
    """Whether the user's list of the related view shows the field back (a role may be
    shown fewer fields): otherwise the narrowed list would refuse its filter."""
    fields = manager.view.get_fields_list(request, include_nested=True, action=RequestAction.LIST)
    return any(field.name == manager.back and field.searchable for field in fields)
