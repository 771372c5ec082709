"""A record's fields on its detail page and in its edit and create forms, drawn from the
field-type registry (`admin_app.admin.lists.columns.COLUMN_TYPES`), as a list's cells are.

A page whose every field its type's entry draws (`draws_detail`, `draws_form`) is drawn
here, in the markup of starlette-admin's templates; a page with any other field (its own
template, a copy button, a form layout) is drawn by starlette-admin's templates as before:
never wrong, only slower. `tests/admin/test_columns.py` holds every entry's markup to its
template's, and `tests/admin/test_record_chrome.py` a drawn page to the stock one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette_admin.fields import BaseField
from starlette_admin.i18n import gettext
from starlette_admin.views import BaseModelView

from admin_app.admin import compat
from admin_app.admin.field_markup import (
    EMPTY_TEMPLATE,
    LABEL_TEMPLATE,
    NULL_TEMPLATE,
    CellKit,
    empty_html,
    esc,
    form_label,
    null_html,
)
from admin_app.admin.lists.columns import column_type


def page_kit(request: Request, view: BaseModelView) -> CellKit:
    """The request and the admin's icon and class names, for the makers."""
    admin = compat.admin_of(view)
    return CellKit(
        request=request,
        icon=lambda name: compat.resolve_icon(admin, name),
        css=lambda name: compat.resolve_class(admin, name),
    )


def draws_detail(field: BaseField) -> bool:
    """Whether `field`'s value on the detail page is its type's entry's markup (not its
    own template, nor a copy button, nor its own dash for an empty value)."""
    drawn = column_type(field).detail
    return (
        drawn is not None
        and field.detail_template == drawn.template
        and field.null_template == NULL_TEMPLATE
        and field.empty_template == EMPTY_TEMPLATE
        and not getattr(field, "copy_to_clipboard", False)
    )


def draws_form(field: BaseField) -> bool:
    """Whether `field`'s input in a form is its type's entry's markup."""
    drawn = column_type(field).form
    return (
        drawn is not None
        and field.form_template == drawn.template
        and field.label_template == LABEL_TEMPLATE
    )


def detail_rows(
    fields: Sequence[BaseField], values: Mapping[str, Any], kit: CellKit
) -> Markup | None:
    """The detail table's rows (`details_table` in starlette-admin's `detail.html`) for
    the serialized record `values`; None when a field is not `draws_detail`'s."""
    if not all(draws_detail(f) and f.name in values for f in fields):
        return None
    rows = []
    attribute, value = esc(gettext("Attribute")), esc(gettext("Value"))
    for field in fields:
        drawn = column_type(field).detail
        assert drawn is not None
        rows.append(
            f'<tr><td data-label="{attribute}"><div><strong>{esc(field.label)}</strong></div>'
            f'</td><td data-label="{value}">{_shown(values[field.name], drawn.make(field, kit))}'
            "</td></tr>"
        )
    return Markup("".join(rows))  # noqa: S704 (each value escaped by its maker)


def _shown(data: Any, cell: Any) -> str:
    if data is None:
        return null_html()
    if isinstance(data, list | tuple) and not data:
        return empty_html()
    return str(cell(data))


def form_body(
    view: BaseModelView, fields: Sequence[BaseField], values: Mapping[str, Any] | None, kit: CellKit
) -> dict[str, Any] | None:
    """A form's fields as `compat.form_body` gives them (starlette-admin's default layout:
    one field a line, each with its label), for the serialized record or defaults
    `values`; None when the view has a `form_layout` or a field is not `draws_form`'s."""
    if view.form_layout or not fields or not all(draws_form(f) for f in fields):
        return None
    lines = []
    for field in fields:
        drawn = column_type(field).form
        assert drawn is not None
        data = values.get(field.name) if values else None
        widget = drawn.make(field, kit)(data, None)
        lines.append(f'<div class="mb-3">{form_label(field)}{widget}</div>')
    body = '<div class="d-flex flex-column gap-3">' + "".join(lines) + "</div>"
    return {
        "form_body": Markup(body),  # noqa: S704 (each input escaped by its maker)
        "widget_additional_css": [],
        "widget_additional_js": [],
    }
