"""Filters through a to-one relation: orders by their customer's country, products by
their category's name, declared on a view in one line each:

    relation_filters = ("customer.country", "customer.email")

Each path names a to-one relation of the view (a `HasOne` field) and a field of the
related view. The filter is that field as the related view declares it (its type,
choices and filters, as the registry gives them), offered under the dotted name in
the filter builder, the header filters, chips and saved views
(`customer.country__eq=FR`), and labelled "Customer country".

It compiles to `customer_id IN (SELECT customer.id FROM customer WHERE <the related
field's own filter>)`: the related table's index on the field finds the few related
rows, and the list table's index on its foreign key finds theirs. No join multiplies
rows, and the list's own order and keyset pages are untouched.

Sorting through a relation is not offered: a keyset page ordered by the customer's
country needs an index on (country, placed_at, id) across two tables, which a B-tree
cannot be; on 2M orders every such page would sort the whole filtered table.

Only the conditions an index can answer are offered through a relation (equals, is one
of, contains, starts or ends with, ranges, periods, is empty): "does not contain" would
read every related row, a million customers for an order list.

A role sees a relation filter only where it may open the related view's list: it could
otherwise learn what it is not shown (which orders belong to emails containing "x").
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, inspect, select
from sqlalchemy.orm import RelationshipProperty
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.fields import BaseField, HasOne
from starlette_admin.filters import FilterApplyContext
from starlette_admin.filters.base import BaseFilter

from admin_app.admin import compat

INDEXED = frozenset(
    [
        "eq",
        "in",
        "contains",
        "startswith",
        "endswith",
        "is_null",
        "between",
        "gte",
        "lte",
        "gt",
        "lt",
        "within",
        "is",
    ]
)
"""The filters offered through a relation: those the related table's indexes serve."""


class RelationFilterError(ValueError):
    """A `relation_filters` entry that names no to-one relation and related field."""


@dataclass(frozen=True)
class Link:
    """How a list reaches a related field: its foreign key, the related key, the view."""

    foreign_key: ColumnElement[Any]
    related_key: ColumnElement[Any]
    view: Any
    field: str


class RelationFiltersMixin(ModelView):
    """Filters through to-one relations (`relation_filters`), shown only to roles that
    may see the related list."""

    relation_filters: ClassVar[Sequence[str]] = ()
    """Related fields to filter the list by, each `"<relation>.<field>"`. Example:
    `relation_filters = ("customer.country",)` on orders."""

    def can_access_field(
        self, request: Request, field: BaseField, action: RequestAction | None = None
    ) -> bool:
        """As starlette-admin decides; a relation filter also needs the related list."""
        link = getattr(field, "through", None)
        if isinstance(link, Link) and not link.view.is_accessible(request):
            return False
        return bool(super().can_access_field(request, field, action))


def install(views: Sequence[Any]) -> None:
    """Add each view's `relation_filters` to its filter fields (when the admin is built)."""
    by_model = {view.model: view for view in views}
    for view in views:
        for path in getattr(view, "relation_filters", ()):
            compat.add_filter_field(view, related_field(view, path, by_model), path)


def related_field(view: Any, path: str, by_model: dict[Any, Any]) -> BaseField:
    """The related view's field named by `path`, made a filter of `view`'s list."""
    relation, _, name = path.partition(".")
    where = f"{type(view).__name__}.relation_filters names {path!r}"
    prop = inspect(view.model).relationships.get(relation)
    own = next((f for f in view.fields if f.name == relation), None)
    if not isinstance(prop, RelationshipProperty) or prop.uselist or not isinstance(own, HasOne):
        raise RelationFilterError(f"{where}: {relation!r} must be a HasOne field of the view.")
    target = by_model.get(prop.mapper.class_)
    source = next((f for f in getattr(target, "fields", ()) if f.name == name), None)
    if source is None or len(prop.local_remote_pairs) != 1:
        raise RelationFilterError(f"{where}: the related view has no field {name!r}.")
    foreign_key, related_key = prop.local_remote_pairs[0]
    link = Link(foreign_key, related_key, target, name)
    field: BaseField = copy.copy(source)
    field.label = f"{own.label} {_lower_first(str(source.label))}"
    field.searchable, field.orderable, field.read_only = True, False, True
    field.exclude_from_list = False  # the list only ever shows `view.fields`
    field.exclude_from_detail = field.exclude_from_create = field.exclude_from_edit = True
    field.exclude_from_export = field.exclude_from_import = True
    offered = view.get_filter_registry().filters_for(source)
    field.filters = [through(f, link) for f in offered if f.name in INDEXED]
    field.through = link  # type: ignore[attr-defined]  # read by `can_access_field`
    return field


def through(inner: type[BaseFilter], link: Link) -> type[BaseFilter]:
    """`inner`, applied to the related table and reached through the foreign key."""

    def apply(self: BaseFilter, ctx: FilterApplyContext) -> Any:
        related = replace(ctx, field_name=link.field, view=link.view)
        clause = inner.apply(self, related)
        return link.foreign_key.in_(select(link.related_key).where(clause))

    doc = f"{inner.__doc__ or inner.__name__}, on the related record."
    return type(inner.__name__, (inner,), {"apply": apply, "__doc__": doc})


def _lower_first(label: str) -> str:
    """ "Country" → "country"; "SKU" stays."""
    return label if label[:2].isupper() else label[:1].lower() + label[1:]
