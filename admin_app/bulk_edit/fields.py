"""Which fields a bulk edit offers, and the values the user chose, read as the edit form reads them.

A field is offered when the user's edit form would let them change it directly: a
column of the model, not the key, not read-only or disabled for them (protected fields
without `edit_<field>`, proposals included: those wait for approval one record at a
time), and not unique (one value on many rows would clash). Relations and files are
not offered: their values are records and uploads, not one value for every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, inspect
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette_admin import RequestAction
from starlette_admin.exceptions import FormValidationError
from starlette_admin.fields import BaseField, FileField, RelationField
from starlette_admin.i18n import gettext

from admin_app.admin import input_rules
from admin_app.admin.permissions import PermissionsMixin


def offered_fields(view: PermissionsMixin, request: Request) -> dict[str, BaseField]:
    """The fields the user may set on many rows of `view`, by name, in the form's order."""
    if view.read_only or not view.allows(request, "edit"):
        return {}
    columns = inspect(view.model).columns
    refused = {
        *view.readonly_fields(request),
        *view.proposal_fields(request),
        *getattr(view, "unique_fields", ()),
        *getattr(view, "case_insensitive_unique", ()),
    }
    found: dict[str, BaseField] = {}
    for field in view.get_fields_list(request, action=RequestAction.EDIT):
        column = columns.get(field.name)
        if column is None or column.primary_key or field.read_only or field.disabled:
            continue
        if field.name in refused or isinstance(field, RelationField | FileField):
            continue
        found[field.name] = field
    return found


def may_bulk_edit(view: Any, request: Request) -> bool:
    """Whether `view` offers this user a bulk edit: an app view they may see and edit,
    with at least one field they may set."""
    if not isinstance(view, PermissionsMixin) or not view.is_accessible(request):
        return False
    previous = request.state.action
    request.state.action = RequestAction.EDIT
    try:
        return bool(offered_fields(view, request))
    finally:
        request.state.action = previous


class NotOffered(Exception):
    """A field that the bulk edit does not offer this user was named."""


async def read_values(
    view: PermissionsMixin, request: Request, form: FormData, chosen: Sequence[str]
) -> dict[str, Any]:
    """The values of the `chosen` fields, parsed and checked by each field and the view
    as the edit form would; `FormValidationError` with the form's own messages, at the
    fields, else the values. `NotOffered` for a field the user may not set."""
    offered = offered_fields(view, request)
    unknown = [name for name in chosen if name not in offered]
    if unknown:
        names = ", ".join(sorted(unknown))[:200]
        raise NotOffered(gettext("You may not change %(fields)s here.") % {"fields": names})
    if not chosen:
        raise FormValidationError({"__all__": gettext("Choose at least one field to change.")})
    data: dict[str, Any] = {}
    for name in chosen:
        try:
            data[name] = await offered[name].parse_input(request, form)
        except FormValidationError as refused:
            raise FormValidationError(dict(refused.errors)) from None
    others = [f.name for f in view.get_fields_list(request) if f.name not in chosen]
    await view.validate_fields(request, data, exclude=others)
    errors = input_rules.unreadable(data)
    if errors:
        raise FormValidationError(errors)
    return _tidied(view, data)


def _tidied(view: PermissionsMixin, data: dict[str, Any]) -> dict[str, Any]:
    """An empty text for a NOT NULL text column is "" (as a saved form gets it)."""
    columns = inspect(view.model).columns
    for name, value in data.items():
        column = columns[name]
        if value is None and not column.nullable and isinstance(column.type, String):
            data[name] = ""
    return data
