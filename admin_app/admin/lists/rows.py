"""A list page's rows: read as column values, rendered in Python in starlette-admin's markup.

Reading: the page's query (the view's own, with its scope, search, filters and keyset
order) selects the model's columns and nothing else, and each row comes back as a
`ListRow`, whose attributes are those values: no ORM objects, no identity map. Each
relation among the shown fields then costs one query for the whole page (many-to-one:
the targets by key; to-many: the (row, target) pairs through the relationship), and
its targets are set on the rows. Where a view's code expects the ORM objects (row
actions that depend on the row, a shown field that is a Python property of the model
rather than a column or relationship), they are loaded for the whole page in one query.

Rendering: starlette-admin includes a template per cell and resolves URLs per row
(about 90 ms of Jinja for 25 rows). Here each column's cell comes from its type's
registry entry (`admin_app.admin.lists.columns`), made once per page; a field its entry
does not cover is rendered by its own template. Where every row gets the same row
actions, a row's checkbox and actions cells are written once per page, in a `<template>`
with a placeholder key, and static/admin.js copies them into each row before the page's
scripts start (a quarter of a customer page's weight, otherwise); a view whose actions
depend on the row renders them per row, with the key filled in.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote_plus

from sqlalchemy import Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import RelationshipProperty
from starlette.requests import Request
from starlette_admin.fields import BaseField, RelationField
from starlette_admin.i18n import gettext
from starlette_admin.views import BaseModelView

from admin_app.admin import compat
from admin_app.admin.chrome import origin_param
from admin_app.admin.field_markup import CellKit, empty_html, esc, null_html
from admin_app.admin.lists.columns import column_type, covers, truncated

_SPACES = re.compile(r"\s+")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.~-]+$")


KEY_PLACEHOLDER = f"pk{secrets.token_hex(8)}"
"""Stands for a row's key in markup made once for every row (row actions, the shared
cells' `<template>`); random per process, so no value on a page can be taken for it."""


class ListRow(SimpleNamespace):
    """One row of a list: the model's columns as attributes, and the shown relations."""


# -- reading ----------------------------------------------------------------------------


def row_select(model: type[Any], query: Select[Any]) -> Select[Any]:
    """`query` (a select of `model`, filtered and ordered) selecting its columns instead."""
    mapper = inspect(model)
    columns = [getattr(model, attr.key).label(attr.key) for attr in mapper.column_attrs]
    return query.with_only_columns(*columns, maintain_column_froms=True)


async def read_rows(
    db: AsyncSession, model: type[Any], query: Select[Any], fields: Sequence[BaseField]
) -> list[ListRow]:
    """The rows of `query` as `ListRow`s, with the relations among `fields` set on them."""
    result = await db.execute(row_select(model, query))
    rows = [ListRow(**mapping) for mapping in result.mappings()]
    mapper = inspect(model)
    for field in fields:
        prop = mapper.relationships.get(field.name) if isinstance(field, RelationField) else None
        if prop is not None and rows:
            await _attach(db, model, prop, rows)
    return rows


async def _attach(
    db: AsyncSession, model: type[Any], prop: RelationshipProperty[Any], rows: list[ListRow]
) -> None:
    """Set relation `prop` on every row, in one query."""
    target = prop.mapper.class_
    if prop.direction.name == "MANYTOONE" and len(prop.local_remote_pairs) == 1:
        ((local, remote),) = prop.local_remote_pairs
        local_key = inspect(model).get_property_by_column(local).key
        remote_key = prop.mapper.get_property_by_column(remote).key
        wanted = {getattr(row, local_key) for row in rows} - {None}
        found = {}
        if wanted:
            stmt = select(target).where(getattr(target, remote_key).in_(wanted))
            found = {getattr(t, remote_key): t for t in (await db.execute(stmt)).scalars()}
        for row in rows:
            setattr(row, prop.key, found.get(getattr(row, local_key)))
        return
    pk_key = _pk_key(model)
    stmt = (
        select(getattr(model, pk_key), target)
        .select_from(model)
        .join(getattr(model, prop.key))
        .where(getattr(model, pk_key).in_([getattr(row, pk_key) for row in rows]))
        .order_by(*(prop.order_by or prop.mapper.primary_key))
    )
    groups: defaultdict[Any, list[Any]] = defaultdict(list)
    for owner, related in (await db.execute(stmt)).all():
        groups[owner].append(related)
    for row in rows:
        related = groups.get(getattr(row, pk_key), [])
        setattr(row, prop.key, related if prop.uselist else (related[0] if related else None))


async def row_objects(
    db: AsyncSession, model: type[Any], rows: Sequence[ListRow]
) -> dict[Any, Any]:
    """The ORM objects of `rows`, by key, in one query: for hooks that expect them."""
    key = _pk_key(model)
    stmt = select(model).where(getattr(model, key).in_([getattr(row, key) for row in rows]))
    return {getattr(obj, key): obj for obj in (await db.execute(stmt)).scalars()}


def _pk_key(model: type[Any]) -> str:
    """The attribute of `model`'s primary key (a single column)."""
    (pk,) = inspect(model).primary_key
    return str(inspect(model).get_property_by_column(pk).key)


# -- rendering --------------------------------------------------------------------------

_CHECKBOX = (
    '<td class="checkbox-cell" data-sa-hook="checkbox-cell"><input class="form-check-input '
    'row-checkbox" type="checkbox" data-sa-hook="row-checkbox" value="{pk}" '
    'aria-label="{label}" /></td>'
)


@dataclass(frozen=True)
class _Column:
    field: BaseField
    td: str
    cell: Callable[[Any], str] | None
    """From the displayed value to the cell, when the column type covers the field."""
    convert: Callable[[Any], Any] | None
    """From the stored value to the displayed one, when not the field's own."""


class RowRenderer:
    """Renders the rows of one list request."""

    def __init__(
        self,
        request: Request,
        view: BaseModelView,
        fields: Sequence[BaseField],
        *,
        checkbox: bool,
        memo: dict[str, Any],
    ) -> None:
        """`memo` keeps what depends only on the viewer, view and locale (detail URLs,
        rendered row actions) for the next request that shares them (a `chrome.Chrome`'s)."""
        self.request = request
        self.view = view
        self.fields = fields
        self.admin = compat.admin_of(view)
        self._detail_bases: dict[str, str] = memo.setdefault("detail_bases", {})
        self._kept_actions: dict[tuple[Any, ...], str] = memo.setdefault("actions", {})
        # Kept row actions hold a placeholder for `_origin=…`, filled in once per request.
        self._origin_placeholder: str = memo.setdefault("origin", f"origin{secrets.token_hex(8)}")
        self.origin = origin_param(request)
        self.same_for_all = _actions_ignore_the_row(view)
        editable = view.inline_editable_fields if view.can_edit(request) else None
        self.editable = frozenset(editable or ())
        position = view.row_actions_position.value
        self.actions_first = position == "BEFORE_COLUMNS"
        self.actions_last = position == "AFTER_COLUMNS"
        self.clickable = bool(view.row_click_navigate and view.can_view_detail(request))
        self.checkbox = checkbox
        self.select_label = esc(gettext("Select row"))
        # Each column's cell and conversion depend on its field, the viewer's rights
        # and locale (the memo's), and whether it may be edited in place.
        plans: dict[tuple[Any, ...], list[_Column]] = memo.setdefault("columns", {})
        plan_key = (tuple(field.name for field in fields), self.editable)
        columns = plans.get(plan_key)
        if columns is None:
            if len(plans) >= 32:  # one per set of columns shown: a few, unless made up
                plans.clear()
            kit = CellKit(request=request, icon=lambda name: compat.resolve_icon(self.admin, name))
            columns = plans[plan_key] = [self._column(field, kit) for field in fields]
        self.columns = columns
        self._objects: dict[Any, Any] = {}
        self._shared: str | None = None
        mapped = inspect(view.model).attrs.keys()  # type: ignore[attr-defined]
        unmapped = any(field.name not in mapped for field in fields)
        self.needs_objects = unmapped or not self.same_for_all

    def _column(self, field: BaseField, kit: CellKit) -> _Column:
        entry = column_type(field)
        cell = entry.cell(field, kit) if entry.cell is not None and covers(field) else None
        convert = entry.convert(field, kit) if entry.convert is not None and cell else None
        return _Column(field, _td(field.name, self.editable), cell, convert)

    async def rows(self, items: Sequence[Any]) -> list[str]:
        """Every row's `<tr>` element, in order, as `_list_row.html` makes it."""
        if items and self.needs_objects:
            db = self.request.state.session
            self._objects = await row_objects(db, self.view.model, items)  # type: ignore[attr-defined]
        return [await self._build(row) for row in items]

    async def _build(self, row: Any) -> str:
        pk = str(await self.view.get_serialized_pk_value(self.request, row))
        safe_pk = esc(pk)
        shared = self.same_for_all and _SAFE_KEY.match(pk) is not None
        parts = [self._row_start(pk, safe_pk, shared)]
        if self.checkbox and not shared:
            parts.append(_CHECKBOX.format(pk=safe_pk, label=self.select_label))
        actions = "" if shared else f"<td>{await self._actions_cell(row, pk)}</td>"
        if self.actions_first:
            parts.append(actions)
        for column in self.columns:
            parts += (column.td, await self._cell(column, row), "</td>")
        if self.actions_last:
            parts.append(actions)
        parts.append("</tr>")
        if shared and self._shared is None:
            self._shared = await self._shared_cells(row)
        return "".join(parts)

    def _row_start(self, pk: str, safe_pk: str, shared: bool) -> str:
        if shared:  # its link to the record, like its cells, comes from `shared_cells`
            return f'<tr data-sa-pk="{safe_pk}" data-row-cells>'
        if not self.clickable:
            return f'<tr data-sa-pk="{safe_pk}">'
        href = esc(self.detail_url(str(self.view.key), pk))
        return (
            f'<tr data-sa-pk="{safe_pk}" data-sa-href="{href}" class="row-clickable" tabindex="0">'
        )

    def shared_cells(self) -> str:
        """The `<template>` the rows marked `data-row-cells` take their checkbox and
        actions cells from ("" when no row is): `data-row-cells` is the placeholder for
        the row's key, `data-actions` where the actions cell goes (first or last), and
        `data-href` the record's page a click on the row opens, if it opens one."""
        return self._shared or ""

    async def _shared_cells(self, row: Any) -> str:
        key = KEY_PLACEHOLDER
        cells = _CHECKBOX.format(pk=key, label=self.select_label) if self.checkbox else ""
        where = "first" if self.actions_first else "last" if self.actions_last else ""
        if where:
            cells += f"<td>{await self._actions_cell(row, key)}</td>"
        href = esc(self.detail_url(str(self.view.key), key)) if self.clickable else ""
        return (
            f'<template data-row-cells="{key}" data-actions="{where}" data-href="{href}">'
            f"<tr>{cells}</tr></template>"
        )

    def detail_url(self, key: str, pk: Any) -> str:
        """starlette-admin's `detail_url`, without a route lookup per row."""
        base = self._detail_bases.get(key)
        if base is None:
            url = self.request.url_for(f"{self.admin.route_name}:detail", key=key)
            base = url.path + "?pk="
            self._detail_bases[key] = base
        return base + quote_plus(str(pk)) + "&" + self.origin

    async def _cell(self, column: _Column, row: Any) -> str:
        field = column.field
        if isinstance(field, RelationField):
            return await self._relation(field, getattr(row, field.name, None))
        if column.cell is not None:
            value = getattr(row, field.name)
            if value is None:
                return null_html()
            if column.convert is not None:
                data = column.convert(value)
            else:
                data = await self.view.serialize_field_value(value, field, self.request)
            return null_html() if data is None else column.cell(data)
        source = self._objects.get(getattr(row, str(self.view.pk_attr)), row)
        value = await field.parse_obj(self.request, source)
        data = await self.view.serialize_field_value(value, field, self.request)
        if data is None:
            return null_html()
        if isinstance(data, (list, tuple)) and not data:
            return empty_html()
        template = self.admin.templates.env.get_template(field.list_template)
        return template.render(request=self.request, view=self.view, field=field, data=data)

    async def _relation(self, field: RelationField, value: Any) -> str:
        if value is None:
            return null_html()
        targets = list(value) if field.multiple else [value]
        if not targets:
            return empty_html()
        foreign = compat.find_view_by_key(self.admin, field.key)
        # A related record the viewer may not open is named, not linked to a refusal.
        linked = foreign.is_accessible(self.request) and foreign.can_view_detail(self.request)
        links, names = [], []
        for target in targets:
            name = str(await foreign.repr(target, self.request))
            if linked:
                pk = await foreign.get_pk_value(self.request, target)
                href = esc(self.detail_url(str(foreign.key), pk))
                links.append(f'<a href="{href}"><bdi>{esc(name)}</bdi></a>')
            else:
                links.append(f"<bdi>{esc(name)}</bdi>")
            names.append(name)
        return truncated(", ".join(names), ", ".join(links))

    async def _actions_cell(self, row: Any, pk: str) -> str:
        if not self.same_for_all or _SAFE_KEY.match(pk) is None:
            obj = self._objects.get(getattr(row, str(self.view.pk_attr)), row)
            actions = await self.view.get_row_actions_for_obj(self.request, obj)
            return self._render_actions(actions, pk)
        kept = self._kept_actions.get(("same",))
        if kept is None:
            actions = await self.view.get_row_actions_for_obj(self.request, row)
            rendered = self._render_actions(actions, KEY_PLACEHOLDER)
            kept = self._kept_actions[("same",)] = rendered.replace(
                self.origin, self._origin_placeholder
            )
        return kept.replace(self._origin_placeholder, self.origin).replace(KEY_PLACEHOLDER, pk)

    def _render_actions(self, actions: list[dict[str, Any]], pk: str) -> str:
        template = self.admin.templates.env.get_template("row-actions.html")
        html = template.render(
            {compat.ACTIONS_KEY: actions},
            request=self.request,
            view=self.view,
            pk=pk,
            display_type=self.view.row_actions_display_type,
        )
        # starlette-admin makes each action's URL absolute; the page's own origin is implied.
        origin = f'href="{self.request.url.scheme}://{self.request.headers.get("host", "")}/'
        return _SPACES.sub(" ", html).strip().replace(origin, 'href="/')


def _td(name: str, editable: frozenset[str]) -> str:
    """A column's opening `<td>`, with the inline-edit hooks when the user may edit it."""
    if name in editable:
        name = esc(name)
        return f'<td data-column="{name}" data-sa-inline-editable="1" data-sa-field="{name}">'
    return f'<td data-column="{esc(name)}">'


def _actions_ignore_the_row(view: BaseModelView) -> bool:
    """Whether every row gets the same row actions: the view decides them without looking
    at the row (starlette-admin's own per-row hooks, no per-row forms)."""
    kind = type(view)
    return (
        kind.get_row_actions_for_obj is BaseModelView.get_row_actions_for_obj
        and kind.is_row_action_allowed_for_obj is BaseModelView.is_row_action_allowed_for_obj
        and not any(
            callable(action.get("form")) for action in compat.row_action_specs(view).values()
        )
    )
