"""`AppModelView`: what every model view in this admin shares.

A view declares `model`, `fields` and the usual starlette-admin attributes; this base
adds readable object names, uniqueness checks that become form errors, and database
errors translated into messages for people instead of SQL. Listing, search, totals
and export come from `ExportMixin`/`ListingMixin` (docs/big-tables.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, ClassVar

from markupsafe import escape
from sqlalchemy import String, func, inspect, select
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette_admin import RequestAction
from starlette_admin.actions import ActionSelection
from starlette_admin.base import BaseAdmin
from starlette_admin.contrib.sqla import InlineModelView, ModelView
from starlette_admin.events import AdminEvent
from starlette_admin.exceptions import ActionFailed, FormValidationError
from starlette_admin.fields import BaseField, EnumField, RelationField
from starlette_admin.filters import FilterRegistry
from starlette_admin.i18n import gettext

from admin_app.admin import approvals, child_rows, compat, input_rules
from admin_app.admin.bulk_edit_action import BulkEditActionMixin
from admin_app.admin.export import ExportMixin
from admin_app.admin.filters import FILTERS
from admin_app.admin.permissions import PermissionsMixin
from admin_app.admin.relation_filters import RelationFiltersMixin
from admin_app.admin.relations import RelationManager
from admin_app.admin.trash_delete import TrashDeleteMixin
from admin_app.admin.versioning import ConflictRow, VersionedEditMixin
from admin_app.db import Base
from admin_app.languages import in_sentence
from admin_app.state import get_session

_CONSTRAINT = re.compile(r"\b(uq|fk|ck|pk)_[a-z0-9_]+", re.IGNORECASE)
_PG_KEY = re.compile(r"Key \((?:lower\()?(\w+)\)?\)=")
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: \w+\.(\w+)")

NON_FIELD = "__all__"
"""Form-error key for problems that belong to no single field (shown above the form)."""


class AppModelView(
    BulkEditActionMixin,
    RelationFiltersMixin,
    PermissionsMixin,
    VersionedEditMixin,
    ExportMixin,
    TrashDeleteMixin,
    ModelView,
):
    """Base for every registered view. Subclasses set `model` and `fields` at least."""

    model: type[Base]
    """The SQLAlchemy model the view manages."""

    unique_fields: ClassVar[Sequence[str]] = ()
    """Columns whose values must be unique; a clash is reported at the field. Example:
    `unique_fields = ("sku",)`."""

    case_insensitive_unique: ClassVar[Sequence[str]] = ()
    """Unique columns compared without letter case, such as `("email",)`."""

    menu_group: ClassVar[str | None] = None
    """The side-menu heading the view is listed under, such as `"Catalogue"`; None for top level."""

    relation_managers: ClassVar[Sequence[str]] = ()
    """To-many relations whose records the detail page lists, each the related view's
    list narrowed to this record (`admin_app.admin.relations`). Example:
    `relation_managers = ("orders",)` on customers."""

    relations: tuple[RelationManager, ...] = ()
    """The relation managers, resolved when the admin is built."""

    create_label: str | None = None
    """What the list's create button and the create page's heading say: "New order".
    None: "New" and the display name in lower case; set it where that reads wrong. It is
    a `Label` (admin_app/admin/labels.py), translated per model: "Nouvelle commande"
    where starlette-admin's one "New %(name)s" gave "Nouveau Commande"."""

    page_size = 25
    page_size_options: ClassVar[Sequence[int]] = [25, 50, 100]  # type: ignore[misc]

    def __init__(self) -> None:
        super().__init__(self.model)
        if self.create_label is None:
            self.create_label = f"New {str.__str__(self.display_name).lower()}"
        input_rules.install(self.fields, self.model)
        _show_column_defaults(self.model, self.fields)
        for inline in compat.inline_views(self):
            input_rules.install(inline.fields, getattr(inline, "model", None))
        # On the view's own event bus, so that a view's `before_edit` need not call
        # super() for them (the bus runs right after that hook, before the flush).
        self.events.on(AdminEvent.BEFORE_CREATE, _tidy)
        self.events.on(AdminEvent.BEFORE_EDIT, _tidy)
        approvals.install(self)  # after `_tidy`: it compares the values a save keeps

    async def child_conflict_rows(self, request: Request, parent: Any) -> list[ConflictRow]:
        """The form's child rows that differ from the saved ones (`child_rows`)."""
        if parent is None or not compat.inline_views(self):
            return []
        return await child_rows.stale_in_form(request, self, parent)

    async def after_children_saved(self, request: Request, parent: Any) -> None:
        """Called once a form's child rows (its inlines) are written, in the same
        transaction: derive the parent from them here (an order's total). Does nothing
        by default."""

    def get_filter_registry(self) -> FilterRegistry:
        """The filters offered by field type: one registry for every view (`filters`)."""
        return FILTERS

    async def repr(self, obj: Any, request: Request) -> str:
        """How an object is named in lists, relation fields and messages: its `__str__`."""
        return str(obj)

    def coerce_pk(self, value: Any) -> Any | None:
        """The key a URL names, or None when it cannot name a row (bad type, out of range)."""
        column = getattr(self.model, self.pk_attr or "id")
        try:
            pk = column.type.python_type(value)
        except (TypeError, ValueError):
            return None
        if isinstance(pk, int) and not -(2**31) <= pk < 2**31:
            return None
        return pk

    async def find_by_pk(self, request: Request, pk: Any) -> Any:
        """The row, or None (a 404) for a key that cannot exist."""
        if self.coerce_pk(pk) is None:
            return None
        return await super().find_by_pk(request, pk)

    async def find_by_pks(self, request: Request, pks: list[Any]) -> Sequence[Any]:
        """The rows; a malformed key makes the whole request a clear 400."""
        if any(self.coerce_pk(pk) is None for pk in pks):
            raise HTTPException(400, gettext("The selection names rows that cannot exist."))
        return await super().find_by_pks(request, pks)

    async def select2_result(self, obj: Any, request: Request) -> str:
        """How an object appears in relation pickers: its name, escaped."""
        return f"<span>{escape(str(obj))}</span>"

    async def validate(self, request: Request, data: dict[str, Any]) -> None:
        """Check what the database would refuse, and say so at the field: a choice no
        option offers, a blank where a value is needed, and clashes with `unique_fields`.
        (What a column can hold is checked by each field: `input_rules`.)"""
        errors: dict[str | int, Any] = {
            **_not_a_choice(self, request, data),
            **_missing(self, request, data),
        }
        pk = request.query_params.get("pk")
        for name in (*self.unique_fields, *self.case_insensitive_unique):
            value = data.get(name)
            if value in (None, "") or not await self._taken(request, name, value, pk):
                continue
            errors[name] = f"Another record already has this {name.replace('_', ' ')}."
        if errors:
            raise FormValidationError(errors)

    async def validate_fields(
        self, request: Request, data: dict[str, Any], exclude: Collection[str] = ()
    ) -> None:
        """Each field's own checks and the view's (`validate`: lengths, ranges, choices,
        uniqueness) together, so a form shows every problem at once, not the second
        kind only after the first is fixed, and an import's preview refuses what
        saving would."""
        errors: dict[str | int, Any] = input_rules.unreadable(data)
        try:
            await super().validate_fields(request, data, [*exclude, *map(str, errors)])
        except FormValidationError as error:
            errors = dict(error.errors)
        try:
            await self.validate(request, data)
        except FormValidationError as error:
            errors = {**error.errors, **errors}
        errors.update(input_rules.unreadable(data))  # what could not be read says so first
        if errors:
            raise FormValidationError(errors)

    async def serialize_field_value(self, value: Any, field: BaseField, request: Request) -> Any:
        """As starlette-admin's, but a stored value that is not among a choice field's
        options (written before the options changed, or by other software) is shown as it
        is, rather than failing every page that shows the record."""
        try:
            return await super().serialize_field_value(value, field, request)
        except ValueError:
            if not isinstance(field, EnumField):
                raise
            return [str(v) for v in value] if isinstance(value, list | tuple) else str(value)

    async def _taken(self, request: Request, name: str, value: Any, pk: str | None) -> bool:
        known = getattr(request.state, "unique_owners", {}).get(name)
        if known is not None:  # looked up for a whole batch of rows (`admin_app.imports`)
            owner = known.get(self.unique_value(name, value))
            return owner is not None and (pk is None or str(owner) != str(pk))
        column = getattr(self.model, name)
        if name in self.case_insensitive_unique and isinstance(value, str):
            condition = func.lower(column) == value.strip().lower()
        else:
            condition = column == value
        pk_column = getattr(self.model, self.pk_attr or "id")
        stmt = select(pk_column).where(condition).limit(1)
        if pk is not None:
            stmt = stmt.where(pk_column != pk_column.type.python_type(pk))
        return (await get_session(request).execute(stmt)).first() is not None

    def unique_value(self, name: str, value: Any) -> Any:
        """A unique field's value as the database compares it (lower case where
        `case_insensitive_unique` says so)."""
        if name in self.case_insensitive_unique and isinstance(value, str):
            return value.strip().lower()
        return value

    async def unique_owners(self, request: Request, name: str, values: Any) -> dict[Any, Any]:
        """Which record holds each of `values` of a unique field: `{value: pk}`, in one
        query, for checking many rows at once."""
        column = getattr(self.model, name)
        pk_column = getattr(self.model, self.pk_attr or "id")
        wanted = [self.unique_value(name, v) for v in values]
        if name in self.case_insensitive_unique:
            stmt = select(func.lower(column), pk_column).where(func.lower(column).in_(wanted))
        else:
            stmt = select(column, pk_column).where(column.in_(wanted))
        return {value: pk for value, pk in await get_session(request).execute(stmt)}

    async def handle_exception(self, request: Request, exc: Exception) -> None:
        """Turn a constraint violation into a form error instead of a 500."""
        if isinstance(exc, IntegrityError):
            raise FormValidationError(_integrity_errors(exc)) from exc
        if isinstance(exc, DataError):
            message = "A value is too long or not valid for its field; nothing was saved."
            raise FormValidationError({NON_FIELD: message}) from exc
        await super().handle_exception(request, exc)

    async def handle_action(
        self, request: Request, selection: ActionSelection, name: str
    ) -> Response | None:
        try:
            return await super().handle_action(request, selection, name)
        except ActionFailed as failed:
            raise ActionFailed(_friendly(failed)) from failed
        except HTTPException as refused:
            raise ActionFailed(str(refused.detail)) from refused

    async def handle_row_action(self, request: Request, pk: Any, name: str) -> Response | None:
        """As starlette-admin's, but only for actions that run on the server: a name the
        view does not offer, or a link such as `view` or `edit`, is a 404 (the stock
        endpoint awaited the link's URL and failed with a 500)."""
        action = compat.row_action_specs(self).get(name)
        if action is None or action.get("is_link"):
            raise HTTPException(
                404,
                gettext("This list has no row action named %(name)s.") % {"name": repr(name[:60])},
            )
        try:
            return await super().handle_row_action(request, pk, name)
        except ActionFailed as failed:
            raise ActionFailed(_friendly(failed)) from failed
        except HTTPException as refused:
            raise ActionFailed(str(refused.detail)) from refused

    def records_label(self) -> str:
        """What the view's records are called, as in its menu: "Customers"."""
        return str(self.menu_label or self.display_name)


def acting_view(
    admin: BaseAdmin,
    request: Request,
    action: RequestAction,
    may: Callable[[AppModelView, Request], bool],
    refusal: str,
) -> AppModelView:
    """The model view the URL's `key` names, for `action` (the import and bulk-edit pages):
    a 404 when there is none, a 403 saying `refusal` of its records when `may` refuses."""
    request.state.action = action
    view = compat.find_view_by_key(admin, request.path_params["key"])
    if not isinstance(view, AppModelView):
        raise HTTPException(404, gettext("There is no such model."))
    if not may(view, request):
        raise HTTPException(403, refusal % {"things": in_sentence(view.records_label())})
    return view


def _missing(view: ModelView, request: Request, data: dict[str, Any]) -> dict[str | int, Any]:
    """Blanks where the column needs a value: a number, date or relation left empty (an
    empty text is saved as ""). On a new record a column with a default may be blank."""
    errors: dict[str | int, Any] = {}
    columns = inspect(view.model).columns
    creating = request.state.action in (RequestAction.CREATE, RequestAction.IMPORT)
    for field in view.get_fields_list(request):
        column = columns.get(field.name)
        if column is None or column.primary_key or field.read_only or field.name not in data:
            continue
        if data[field.name] is not None or column.nullable or isinstance(column.type, String):
            continue
        if creating and (column.default is not None or column.server_default is not None):
            continue
        errors[field.name] = "Enter a value."
    return errors


def _not_a_choice(view: ModelView, request: Request, data: dict[str, Any]) -> dict[str | int, Any]:
    """Values of choice fields that are not among the options they offer, and a blank
    where the column cannot be empty."""
    errors: dict[str | int, Any] = {}
    columns = inspect(view.model).columns
    for field in view.get_fields_list(request):
        if not isinstance(field, EnumField) or field.name not in data or field.read_only:
            continue
        value = data[field.name]
        column = columns.get(field.name)
        if value in (None, "", []):
            if column is not None and not column.nullable:
                errors[field.name] = "Choose one of the options."
            continue
        offered = _offered(field, request)
        values = value if isinstance(value, list | tuple) else [value]
        if any(str(getattr(v, "value", v)) not in offered for v in values):
            errors[field.name] = "Choose one of the options offered."
    return errors


def _offered(field: EnumField, request: Request) -> set[str]:
    """The values a choice field offers in this request, worked out once per request
    (a country list is built from the locale's data: 1 ms, for each row of an import)."""
    memo: dict[int, set[str]] = request.scope.setdefault("state", {}).setdefault(
        "offered_choices", {}
    )
    if id(field) not in memo:
        memo[id(field)] = {str(v) for v, _label in compat.enum_choices(field, request)}
    return memo[id(field)]


class AppInlineView(InlineModelView):
    """Base for rows edited inside their parent's form (an order's lines); see
    `admin_app.admin.child_rows` for how a form's rows are checked and saved."""

    inline_template = "inline_table.html"
    """One table row per child row, edited in place (`static/child_rows.js`)."""

    extra = 1
    """One blank row to fill in, so a row can be added without JavaScript too."""

    collapsible = False

    rows_title: ClassVar[str] = "Rows"
    """The heading of the rows in the form, such as "Lines"."""

    row_noun: ClassVar[str] = "Row"
    """What one row is called in the form and on the conflict page, such as "Line"."""

    row_total_of: ClassVar[tuple[str, ...]] = ()
    """Fields whose product is a row's total, summed under the rows as you type (and
    shown again when the form is); `("quantity", "unit_price")` for order lines."""

    total_label: ClassVar[str] = "Total"
    """The label of the sum of the rows' totals, such as "Order total"."""

    hint_field: ClassVar[str | None] = None
    """The field a relation choice's hint fills in (`form_options`): `"unit_price"` takes
    the chosen product's price, unless the user typed another."""

    async def find_by_parent(self, request: Request, parent: Any) -> Sequence[Any]:
        """The parent's rows in their place (`position`, when the model has one), else in
        the order they were added, on every database (starlette-admin asks for them
        unordered, and PostgreSQL moves an updated row to the end)."""
        rows = await super().find_by_parent(request, parent)
        child_rows.remember_versions(request, self, rows)
        return sorted(rows, key=lambda row: (getattr(row, "position", 0), _identity(row)))

    async def serialize(
        self,
        obj: Any,
        request: Request,
        include_relationships: bool = True,
        include_select2: bool = False,
    ) -> dict[str, Any]:
        """A row as its form inputs take it: stored values, a related record as its key (the
        stock serializing, with a detail link per related record, was most of a 200-line
        form's time). Elsewhere (the detail page) as starlette-admin serializes it."""
        if request.state.action not in (RequestAction.EDIT, RequestAction.CREATE):
            return await super().serialize(obj, request, include_relationships, include_select2)
        values: dict[str, Any] = {}
        for field in self.get_fields_list(request):
            value = getattr(obj, field.name, None)
            if isinstance(field, RelationField) and value is not None:
                value = str(inspect(value).identity[0])
            values[field.name] = value
        return values

    async def form_options(self, request: Request) -> dict[str, list[tuple[str, str, str]]]:
        """Choices rendered once per form for a relation field of the rows, by field name:
        `[(pk, label, hint), …]`; a hint is what choosing it suggests (a product's price).
        A field not listed offers its rows' current values only."""
        return {}

    async def validate(self, request: Request, data: dict[str, Any]) -> None:
        """A relation named by a key that no record has is an error at the field (the
        stock form would try to save it empty, and the database would refuse)."""
        errors: dict[str | int, Any] = {
            field.name: "Choose one of the offered values."
            for field in self.get_fields_list(request)
            if isinstance(field, RelationField) and field.required and data.get(field.name) is None
        }
        if errors:
            raise FormValidationError(errors)

    async def handle_exception(self, request: Request, exc: Exception) -> None:
        """A row someone else changed meanwhile is a conflict of the whole form; a value
        the database refuses is a message at the row."""
        if isinstance(exc, StaleDataError):
            raise exc
        if isinstance(exc, IntegrityError):
            raise FormValidationError(_integrity_errors(exc)) from exc
        if isinstance(exc, DataError):
            raise FormValidationError(
                {NON_FIELD: gettext("A value is not valid for its field.")}
            ) from exc
        await super().handle_exception(request, exc)


def _identity(row: Any) -> tuple[Any, ...]:
    return tuple(inspect(row).identity or ())


def _show_column_defaults(model: type[Base], fields: Sequence[BaseField]) -> None:
    """A new record's form starts with the column's default (a stock of 0), so a user
    sees the value a blank would be saved as."""
    columns = inspect(model).columns
    for field in fields:
        column = columns.get(field.name)
        default = getattr(column, "default", None) if column is not None else None
        if field.default is None and default is not None and default.is_scalar:
            field.default = default.arg


async def _tidy(context: Any) -> None:
    """What every saved form gets, whatever the view's own hooks do."""
    _blank_not_null(context.obj)
    if context.event == AdminEvent.BEFORE_EDIT:
        _keep_what_the_form_rounded(context.obj)


def _keep_what_the_form_rounded(obj: Any) -> None:
    """A date-time input shows whole seconds: sent back untouched, it would drop the
    stored fraction. A value equal to the stored one but for that fraction is the
    stored one."""
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not (history.added and history.deleted):
            continue
        new, old = history.added[0], history.deleted[0]
        rounded = isinstance(new, datetime) and isinstance(old, datetime) and old.microsecond
        if rounded and _same_instant(new, old.replace(microsecond=0)):
            setattr(obj, attr.key, old)


def _same_instant(a: datetime, b: datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return a == b


def _blank_not_null(obj: Any) -> None:
    """An empty text input means "" for NOT NULL text columns (forms send nothing, or None)."""
    for column in inspect(type(obj)).columns:
        if not column.nullable and isinstance(column.type, String) and column.key:
            attr = column.key
            if hasattr(obj, attr) and getattr(obj, attr) is None and column.default is not None:
                setattr(obj, attr, "")


def _friendly(failed: ActionFailed) -> str:
    cause = failed.__cause__
    if isinstance(cause, IntegrityError):
        return (
            "This cannot be done because other records depend on it "
            f"({_constraint_name(cause) or 'a database constraint'}). "
            "Remove or reassign those first."
        )
    if isinstance(cause, SQLAlchemyError):
        return "The database refused this change. Nothing was changed."
    return failed.msg


def _constraint_name(error: IntegrityError) -> str | None:
    match = _CONSTRAINT.search(str(error.orig))
    return match.group(0) if match else None


def _duplicate_column(error: IntegrityError) -> str | None:
    text = str(error.orig)
    match = _PG_KEY.search(text) or _SQLITE_UNIQUE.search(text)
    return match.group(1) if match else None


def _integrity_errors(error: IntegrityError) -> dict[str | int, Any]:
    column = _duplicate_column(error)
    if column:
        return {column: "This value is already used by another record."}
    return {NON_FIELD: "The database refused these values; check them and try again."}
