"""List-table rows rendered in Python, in the same markup as starlette-admin's templates.

starlette-admin renders each cell by including a template (`fields/list/text.html`
and friends) and each row's actions with URL helpers: about 90 ms of Jinja for a
25-row page, the largest cost of a list request. The common cell templates are
reproduced here as small string builders that escape with markupsafe, producing
the same elements and classes, so the page looks and behaves the same (tooltips,
search highlight, inline-edit hooks). Row actions are rendered once per page with
a placeholder key and then filled in per row. Any cell whose template is not
reproduced here (a custom `list_template`, copy buttons, JSON, files …) is still
rendered by its own template, so nothing is lost, only slower.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from operator import itemgetter
from typing import Any
from urllib.parse import quote_plus

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.fields import (
    BaseField,
    BooleanField,
    DateTimeField,
    EnumField,
    IntegerField,
    RelationField,
    StringField,
)
from starlette_admin.i18n import gettext, is_timezone_conversion_enabled
from starlette_admin.views import BaseModelView

from admin_app.admin.chrome import origin_param
from admin_app.admin.datetimes import DateTimeText
from admin_app.admin.fields import AwareDateTimeField

try:  # markupsafe's C escaper: str in, str out, without making a Markup per value
    from markupsafe import _escape_inner  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover (markupsafe without its private helper)

    def _escape_inner(s: str, /) -> str:
        return str(escape(s))


esc: Callable[[str], str] = _escape_inner
"""HTML-escape text: `markupsafe.escape`, as a plain string."""


_BETWEEN_TAGS = re.compile(r">\s+<")
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.~-]+$")
_MISSING = object()
NULL = Markup(
    '<span class="text-muted inline-edit-value" title="Not set"><span aria-hidden="true">—</span>'
    '<span class="visually-hidden">not set</span></span>'
)
"""An empty value: the same dash as templates/admin/fields/detail/_null.html."""
EMPTY = Markup(
    '<span class="text-muted inline-edit-value" title="None"><span aria-hidden="true">—</span>'
    '<span class="visually-hidden">none</span></span>'
)
"""An empty collection: the same dash as templates/admin/fields/detail/_empty.html."""


@dataclass(frozen=True)
class Row:
    """One rendered row: its key (as text) and the `<tr>` element, as `_list_row.html` makes
    it, in UTF-8 (encoded once, however often a kept row is shown: see `RowRenderer.rows`)."""

    pk: str
    utf8: bytes


_CHECKBOX = (
    '<td class="checkbox-cell" data-sa-hook="checkbox-cell"><input class="form-check-input '
    'row-checkbox" type="checkbox" data-sa-hook="row-checkbox" value="{pk}" '
    'aria-label="{label}" /></td>'
)


@dataclass(frozen=True)
class _Layout:
    """What every row of one page shares: which optional cells it has."""

    checkbox: bool
    actions_first: bool
    actions_last: bool
    clickable: bool
    editable: frozenset[str]
    select_label: str

    @classmethod
    def of(cls, request: Request, view: BaseModelView, checkbox: bool) -> _Layout:
        position = view.row_actions_position.value
        editable = view.inline_editable_fields if view.can_edit(request) else None
        return cls(
            checkbox=checkbox,
            actions_first=position == "BEFORE_COLUMNS",
            actions_last=position == "AFTER_COLUMNS",
            clickable=bool(view.row_click_navigate and view.can_view_detail(request)),
            editable=frozenset(editable or ()),
            select_label=str(escape(gettext("Select row"))),
        )


@dataclass(frozen=True)
class _Plan:
    """How one page's rows are built, worked out on its first row and kept with its shell."""

    checkbox: bool
    layout: _Layout
    direct: dict[str, Callable[[Any], Any]]
    columns: list[tuple[BaseField, str, Callable[[Any], str | None] | None]]
    """Each column's field, its opening `<td>` and its fast cell (see `_fast_cell`)."""
    same_for_all: bool
    pk: tuple[str, Callable[[Any], Any]] | None
    """The key's attribute and conversion, when the view reads its key the stock way."""
    reads: tuple[str, ...] | None
    """The attributes a row's HTML is made from, when nothing else goes into it (every
    cell fast, the key read the stock way, the same actions for every row): then a
    row whose values were seen before is not built again (`RowRenderer.rows`)."""
    read: Callable[[dict[str, Any]], tuple[Any, ...]] | None
    """The values of `reads`, in order, from an object's attribute dict."""


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """`itemgetter(*names)`, always giving a tuple (one name gives the bare value)."""
    if len(names) == 1:
        name = names[0]
        return lambda values: (values[name],)
    return itemgetter(*names)


class RowRenderer:
    """Renders the rows of one list request."""

    def __init__(
        self,
        request: Request,
        view: BaseModelView,
        fields: Sequence[BaseField],
        *,
        checkbox: bool,
        memo: dict[str, Any] | None = None,
    ) -> None:
        """`memo` keeps what depends only on the request's URL, user and locale (detail
        URLs, rendered row actions, choice labels) for the next request that shares them
        (`admin_app.admin.chrome`); without it, they are worked out once per page."""
        self.request = request
        self.view = view
        self.fields = fields
        assert view._admin is not None, "the view is registered with the admin"
        self.admin = view._admin
        self.env = self.admin.templates.env
        memo = {} if memo is None else memo
        self._detail_bases: dict[str, str] = memo.setdefault("detail_bases", {})
        self._actions: dict[tuple[Any, ...], str] = memo.setdefault("actions", {})
        self._labels: dict[str, dict[Any, Any]] = memo.setdefault("labels", {})
        self._placeholder: str = memo.setdefault("placeholder", f"pk{secrets.token_hex(8)}")
        # Kept row actions hold a placeholder for `_origin=…` (pages of one list share
        # them, each with its own URL: see chrome), filled in once per request.
        self._origin_placeholder: str = memo.setdefault("origin", f"origin{secrets.token_hex(8)}")
        self.origin = origin_param(request)
        self._filled: dict[tuple[Any, ...], str] = {}
        plan = memo.get("plan")
        if plan is None or plan.checkbox != checkbox:
            plan = memo["plan"] = self._plan(checkbox)
            memo["rows"] = {}
        self._built: dict[tuple[Any, ...], Row] = memo["rows"]
        self.plan: _Plan = plan
        self.layout = plan.layout
        self._direct = plan.direct
        self._memo = memo
        self._same_actions: list[dict[str, Any]] | None = memo.get("same_actions")
        self._same_html: str | None = None

    @cached_property
    def _cells(self) -> dict[str, Callable[[BaseField, Any], str]]:
        """Cells rendered here rather than by their template, by template."""
        return {
            "fields/list/text.html": self._text,
            "fields/list/email.html": self._email,
            "fields/list/boolean.html": self._boolean,
            "fields/list/image.html": self._image,
        }

    def _plan(self, checkbox: bool) -> _Plan:
        """What every row of this page shares, worked out once (and kept with the shell)."""
        request, view = self.request, self.view
        layout = _Layout.of(request, view, checkbox)
        direct = {f.name: c for f in self.fields if (c := _direct_conversion(f)) is not None}
        pk_field = getattr(view, "pk_field", None)
        stock_pk = (
            type(view).get_serialized_pk_value is ModelView.get_serialized_pk_value
            and type(view).get_pk_value is ModelView.get_pk_value
        )
        pk_convert = _direct_conversion(pk_field) if stock_pk and pk_field is not None else None
        columns = [
            (f, _td(f.name, layout.editable), self._fast_cell(f, direct.get(f.name)))
            for f in self.fields
        ]
        pk = (pk_field.name, pk_convert) if pk_field is not None and pk_convert else None
        same_for_all = _actions_ignore_the_row(view)
        pure = pk is not None and same_for_all and all(fast for _, _, fast in columns)
        reads = (pk[0], *(f.name for f in self.fields)) if pure and pk else None
        return _Plan(
            checkbox=checkbox,
            layout=layout,
            direct=direct,
            columns=columns,
            same_for_all=same_for_all,
            pk=pk,
            reads=reads,
            read=_getter(reads) if reads else None,
        )

    def _fast_cell(
        self, field: BaseField, convert: Callable[[Any], Any] | None
    ) -> Callable[[Any], str | None] | None:
        """For a column whose cell needs no call into starlette-admin: `cell(obj)`, the
        same HTML as `_cell`, or None where it would be different (then `_cell` runs).
        `convert` is the field's direct conversion, if it has one."""
        if isinstance(field, RelationField) or getattr(field, "copy_to_clipboard", False):
            return None
        if getattr(field, "multiple", False):
            return None
        render: Callable[[Any], str]
        if field.list_template == "fields/list/text.html":
            render = _text_html
        elif field.list_template == "fields/list/email.html":
            render = _email_html
        elif field.list_template == "fields/list/boolean.html":
            yes, no = self._boolean(field, True), self._boolean(field, False)
            render = lambda data: yes if data else no  # noqa: E731
        else:
            return None
        name = field.name
        if convert is None:
            plain = not (field.formatter or {}).get(self.request.state.action)
            if not (isinstance(field, EnumField) and plain) or _custom_read(field):
                return None
            labels = self._enum_labels(field)

            def cell(obj: Any) -> str | None:
                value = _read(obj, name)
                if value is None:
                    return NULL
                label = labels.get(_enum_value(value), _MISSING)
                return None if label is _MISSING or label is None else render(label)

            return cell

        def direct(obj: Any) -> str | None:
            value = _read(obj, name)
            if value is None:
                return NULL
            data = convert(value)
            return NULL if data is None else render(data)

        return direct

    async def rows(self, items: Sequence[Any]) -> list[Row]:
        """Every row of the page, in order; a row is kept (by its values and this page's
        URL) when the plan allows, and not built again while they are the same."""
        reads, read = self.plan.reads, self.plan.read
        if reads is None or read is None:
            return [await self._build(obj) for obj in items]
        built, origin = self._built, self.origin
        rows = []
        for obj in items:
            key = _values_key(obj, reads, read, origin)
            row = built.get(key) if key is not None else None
            if row is None:
                row = await self._build(obj)
                if key is not None:
                    if len(built) >= ROWS_KEPT:
                        built.clear()
                    built[key] = row
            rows.append(row)
        return rows

    async def _build(self, obj: Any) -> Row:
        plan = self.plan
        if plan.pk is not None:
            pk = str(plan.pk[1](_read(obj, plan.pk[0])))
        else:
            pk = str(await self.view.get_serialized_pk_value(self.request, obj))
        safe_pk = esc(pk)
        parts = [self._row_start(pk, safe_pk)]
        if self.layout.checkbox:
            parts.append(_CHECKBOX.format(pk=safe_pk, label=self.layout.select_label))
        actions = f"<td>{await self._row_actions(obj, pk)}</td>"
        if self.layout.actions_first:
            parts.append(actions)
        for field, td, fast in plan.columns:
            html = fast(obj) if fast is not None else None
            if html is None:
                html = await self._cell(field, obj)
            # Never `td + html`: a Markup operand would escape the plain `<td>` beside it.
            parts += (td, html, "</td>")
        if self.layout.actions_last:
            parts.append(actions)
        parts.append("</tr>")
        return Row(pk=pk, utf8="".join(parts).encode())

    def _row_start(self, pk: str, safe_pk: str) -> str:
        if not self.layout.clickable:
            return f'<tr data-sa-pk="{safe_pk}">'
        href = esc(self.detail_url(str(self.view.key), pk))
        return (
            f'<tr data-sa-pk="{safe_pk}" data-sa-href="{href}" class="row-clickable" tabindex="0">'
        )

    def detail_url(self, key: str, pk: Any) -> str:
        """starlette-admin's `detail_url`, without a route lookup per row."""
        base = self._detail_bases.get(key)
        if base is None:
            base = str(self.request.url_for(f"{self.admin.route_name}:detail", key=key)) + "?pk="
            self._detail_bases[key] = base
        return base + quote_plus(str(pk)) + "&" + self.origin

    async def cell(self, field: BaseField, obj: Any) -> Markup:
        """One cell's HTML, as `_list_row.html` would render it."""
        return _trusted(await self._cell(field, obj))

    async def _cell(self, field: BaseField, obj: Any) -> str:
        if isinstance(field, RelationField):
            return await self._relation(field, getattr(obj, field.name, None))
        convert = self._direct.get(field.name)
        if convert is not None:
            value = getattr(obj, field.name)
            data = None if value is None else convert(value)
        else:
            data = await self._serialize(field, await field.parse_obj(self.request, obj))
        if data is None:
            return NULL
        if isinstance(data, (list, tuple)) and not data:
            return EMPTY
        render = self._cells.get(field.list_template)
        if render is None or getattr(field, "copy_to_clipboard", False):
            return self._template(field.list_template, field, data)
        return render(field, data)

    async def _serialize(self, field: BaseField, value: Any) -> Any:
        plain = not (field.formatter or {}).get(self.request.state.action)
        if isinstance(field, EnumField) and value is not None and not field.multiple and plain:
            label = self._enum_labels(field).get(_enum_value(value), _MISSING)
            if label is not _MISSING:
                return label
        return await self.view.serialize_field_value(value, field, self.request)

    def _enum_labels(self, field: EnumField) -> dict[Any, Any]:
        # starlette-admin looks each label up by scanning every choice (every country,
        # for a CountryField, rebuilt by babel per cell); once per page is enough.
        labels = self._labels.get(field.name)
        if labels is None:
            labels = {value: label for value, label in field._get_choices(self.request)}
            self._labels[field.name] = labels
        return labels

    def _template(self, name: str, field: BaseField, data: Any) -> Markup:
        template = self.env.get_template(name)
        html = template.render(request=self.request, view=self.view, field=field, data=data)
        return _trusted(html)  # the template autoescapes

    def _text(self, field: BaseField, data: Any) -> str:
        return _text_html(data)

    def _email(self, field: BaseField, data: Any) -> str:
        values = [str(v) for v in (data if getattr(field, "multiple", False) else [data])]
        body = ", ".join(f'<a href="mailto:{esc(v)}">{esc(v)}</a>' for v in values)
        return _truncated(", ".join(values), body)

    def _boolean(self, field: BaseField, data: Any) -> str:
        values = data if getattr(field, "multiple", False) else [data]
        icon = self.admin._resolve_icon
        parts = "".join(
            f'<div class="p-1"><span class="{"text-success" if v else "text-danger"} '
            f'inline-edit-value"><i class="'
            f'{escape(icon("field.boolean_true" if v else "field.boolean_false"))} fa-lg">'
            "</i></span></div>"
            for v in values
        )
        return f'<div class="d-flex">{parts}</div>'

    def _image(self, field: BaseField, data: Any) -> str:
        values = data if getattr(field, "multiple", False) else [data]
        parts = "".join(
            '<div class="p-1"><span class="avatar avatar-sm" style="background-image: '
            f"url('{escape(_get(v, 'thumbnail_url') or _get(v, 'url'))}')\"></span></div>"
            for v in values
        )
        return f'<div class="d-flex">{parts}</div>'

    async def _relation(self, field: RelationField, value: Any) -> str:
        if value is None:
            return NULL
        targets = list(value) if field.multiple else [value]
        if not targets:
            return EMPTY
        foreign = self.admin._find_view_by_key(field.key)
        # A related record the viewer may not open is named, not linked to a refusal.
        linked = foreign.is_accessible(self.request) and foreign.can_view_detail(self.request)
        links, names = [], []
        for target in targets:
            name = str(await foreign.repr(target, self.request))
            if linked:
                pk = await foreign.get_pk_value(self.request, target)
                href = escape(self.detail_url(str(foreign.key), pk))
                links.append(f'<a href="{href}">{escape(name)}</a>')
            else:
                links.append(esc(name))
            names.append(name)
        return _truncated(", ".join(names), ", ".join(links))

    async def _row_actions(self, obj: Any, pk: str) -> str:
        safe = _SAFE_KEY.match(pk) is not None
        if safe and self._same_html is not None:
            return self._same_html.replace(self._placeholder, pk)
        if self._same_actions is not None:
            actions = self._same_actions
        else:
            actions = await self.view.get_row_actions_for_obj(self.request, obj)
            if self.plan.same_for_all:  # then they depend only on the user: kept
                self._same_actions = self._memo["same_actions"] = actions
        if not safe:
            return self._render_actions(actions, pk)
        signature = tuple((a.get("name"), str(a.get("form") or "")) for a in actions)
        html = self._filled.get(signature)
        if html is None:
            kept = self._actions.get(signature)
            if kept is None:
                rendered = str(self._render_actions(actions, self._placeholder))
                kept = self._actions[signature] = rendered.replace(
                    self.origin, self._origin_placeholder
                )
            html = self._filled[signature] = kept.replace(self._origin_placeholder, self.origin)
        if self.plan.same_for_all:
            self._same_html = html
        return html.replace(self._placeholder, pk)

    def _render_actions(self, actions: list[dict[str, Any]], pk: str) -> Markup:
        template = self.env.get_template("row-actions.html")
        html = template.render(
            request=self.request,
            view=self.view,
            pk=pk,
            _actions=actions,
            display_type=self.view.row_actions_display_type,
        )
        return _trusted(_BETWEEN_TAGS.sub("> <", html).strip())


ROWS_KEPT = 100
"""Rows kept per shell (`RowRenderer.rows`): four pages of 25, about 0.4 MB; dropped all at
once when full."""

_SAME_VALUE_SAME_TEXT = frozenset({str, int, bool, type(None), datetime, date})
"""Types whose equal values always render the same text (unlike floats, where 0.0 == -0.0,
or decimals, where 1.0 == 1.00)."""


def _values_key(
    obj: Any, reads: tuple[str, ...], read: Callable[[dict[str, Any]], Any], origin: str
) -> tuple[Any, ...] | None:
    """What a row's HTML is made from, to look it up by; None when a value's type does
    not promise that equal values look the same. `read` is `itemgetter(*reads)`, used
    on the attributes of a `PlainRow` (or of an ORM object whose values are loaded)."""
    try:
        values = (origin, *read(obj.__dict__))
    except (KeyError, AttributeError):  # not loaded, or not a plain attribute
        values = (origin, *[_read(obj, name) for name in reads])
    if not _SAME_VALUE_SAME_TEXT.issuperset(map(type, values)):
        for value in values:
            if type(value) not in _SAME_VALUE_SAME_TEXT and not isinstance(value, enum.Enum):
                return None
    return values


def _td(name: str, editable: frozenset[str]) -> str:
    """A column's opening `<td>`, with the inline-edit hooks when the user may edit it."""
    if name in editable:
        return (
            f'<td data-column="{escape(name)}" data-sa-inline-editable="1" '
            f'data-sa-field="{escape(name)}">'
        )
    return f'<td data-column="{escape(name)}">'


def _trusted(html: str) -> Markup:
    """Mark HTML built here as safe: every value interpolated into it went through `escape`."""
    return Markup(html)  # noqa: S704


_TRUNCATED_OPEN = (
    '<span class="align-middle d-inline-block text-truncate inline-edit-value" '
    'data-bs-toggle="tooltip" data-bs-placement="bottom" title="'
)
_TRUNCATED_MID = '" style="max-width: 30em">'


def _truncated(title: str, body: str) -> str:
    """starlette-admin's `truncated()` macro: one line, full text in a tooltip.
    `body` is HTML (escaped by the caller)."""
    return _TRUNCATED_OPEN + esc(" ".join(title.split())) + _TRUNCATED_MID + body + "</span>"


def _text_html(data: Any) -> str:
    """A text cell (`fields/list/text.html`)."""
    text = str(data)
    body = esc(text)
    one_line = " ".join(text.split())
    title = body if one_line == text else esc(one_line)
    return _TRUNCATED_OPEN + title + _TRUNCATED_MID + body + "</span>"


def _email_html(data: Any) -> str:
    """An email cell (`fields/list/email.html`) with one address."""
    text = str(data)
    address = esc(text)
    return _truncated(text, f'<a href="mailto:{address}">{address}</a>')


def _read(obj: Any, name: str) -> Any:
    """`getattr(obj, name)`; for a loaded ORM attribute, straight from the instance's dict
    (what SQLAlchemy's descriptor returns, without its call)."""
    try:
        return obj.__dict__[name]
    except (KeyError, AttributeError):
        return getattr(obj, name)


def _custom_read(field: BaseField) -> bool:
    """Whether a field reads its value other than as the attribute of its name."""
    return (
        getattr(field, "getter", None) is not None
        or type(field).parse_obj is not BaseField.parse_obj
    )


def _actions_ignore_the_row(view: BaseModelView) -> bool:
    """Whether every row gets the same row actions: the view decides them without looking
    at the row (starlette-admin's own per-row hooks, no per-row forms)."""
    kind = type(view)
    return (
        kind.get_row_actions_for_obj is BaseModelView.get_row_actions_for_obj
        and kind.is_row_action_allowed_for_obj is BaseModelView.is_row_action_allowed_for_obj
        and not any(callable(action.get("form")) for action in view._row_actions.values())
    )


_STOCK_CONVERSIONS: dict[Any, Callable[[Any], Any]] = {
    StringField.serialize_value: str,
    IntegerField.serialize_value: int,
    BooleanField.serialize_value: bool,
}


def _direct_conversion(field: BaseField) -> Callable[[Any], Any] | None:
    """For fields that read an attribute and convert it the stock way (`str`, `int`,
    `bool`, a date and time in the user's zone), that conversion, so the cell needs no
    call into starlette-admin. Called once per page, inside the request's locale."""
    if field.formatter or _custom_read(field):
        return None
    kind = type(field).serialize_value
    if kind in _DATETIME_SERIALIZERS and is_timezone_conversion_enabled():
        assert isinstance(field, DateTimeField)
        return DateTimeText(
            field.output_format or "medium",
            precise=kind is DateTimeField.serialize_value,
        )
    return _STOCK_CONVERSIONS.get(kind)


_DATETIME_SERIALIZERS = (DateTimeField.serialize_value, AwareDateTimeField.serialize_value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _get(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)
