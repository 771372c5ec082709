"""Child rows edited inside their parent's form (an order's lines), saved as one.

starlette-admin parses a form's inline rows (`inlines.<key>.<n>.<field>`, with `pk` and
`DELETE`) and writes them after the parent. Around that write (`RecordPages.save_inlines`)
this module adds what a whole-order editor needs:

- every submitted row must be one of the parent's rows as the form saw them: a row
  changed (its `version`), removed or added by someone else since the form was opened
  makes the save a 409 listing those rows (`check_rows`), and nothing is written;
- the rows are numbered in the order the user gave them (`number_rows`);
- the view hears when its children are saved (`AppModelView.after_children_saved`), to
  derive the parent from them (an order's total).

The whole request is one transaction (the admin's session middleware commits below 400
and rolls back otherwise), so a bad row, or a conflict, leaves nothing written.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from markupsafe import Markup
from sqlalchemy import inspect, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette_admin import RelationField
from starlette_admin.contrib.sqla import ModelView
from starlette_admin.exceptions import FormValidationError
from starlette_admin.i18n import gettext
from starlette_admin.views import BaseModelView, InlineModelView

from admin_app.admin import compat
from admin_app.admin.versioning import VERSION_FIELD, ConflictRow, EditConflict
from admin_app.state import get_session

Rows = list[dict[str, Any]]
"""A formset as starlette-admin parses it: `{"index", "pk", "data", "delete", "errors"}`."""

POSITION = "position"
"""The column an inline's rows are ordered by, when its model has one."""


def version_name(inline: InlineModelView, index: Any) -> str:
    """The form name of a row's version: `inlines.<key>.<n>.version`."""
    return f"{compat.inline_prefix(inline)}.{index}.version"


def number_rows(view: BaseModelView, inline_data: dict[str, Rows]) -> None:
    """Put each formset in the order the user gave it (its `position` inputs, then its
    place in the form) and number the kept rows 1, 2, …"""
    for inline in compat.inline_views(view):
        if POSITION not in {f.name for f in inline.fields}:
            continue
        rows = inline_data.get(str(inline.key), [])
        rows.sort(key=lambda row: (_place(row["data"].get(POSITION)), row["index"]))
        kept = (row for row in rows if not row["delete"])
        for place, row in enumerate(kept, start=1):
            row["data"][POSITION] = place


def _place(value: Any) -> float:
    return float(value) if isinstance(value, int) else float("inf")


async def check_rows(
    request: Request, view: ModelView, parent: Any, inline_data: dict[str, Rows]
) -> None:
    """Refuse (409, nothing written) a save whose rows are not the parent's rows as the
    form saw them; a create form may name no existing row at all (400)."""
    form = await request.form()
    opened = VERSION_FIELD in form  # made from an edit page: it lists every row it saw
    differ: list[ConflictRow] = []
    for inline in compat.inline_views(view):
        rows = inline_data.get(str(inline.key), [])
        differ += await _differ(request, inline, parent, rows, form, opened)
    if not differ:
        return
    if not opened:
        raise HTTPException(400, gettext("This form names rows that belong to no record it edits."))
    pk = await view.get_pk_value(request, parent)
    await get_session(request).rollback()  # a 409 writes nothing; free the connection
    raise EditConflict(view, pk, differ, gone=False)


async def changed_rows(
    request: Request, view: BaseModelView, parent: Any, inline_data: dict[str, Rows]
) -> dict[str, Rows]:
    """The rows to write: new, removed, or different from the saved row. A row sent
    back as it was is not written again (an order of 200 lines where one changed
    writes one)."""
    changed: dict[str, Rows] = {}
    for inline in compat.inline_views(view):
        key = str(inline.key)
        rows = inline_data.get(key, [])
        saved = await _saved(request, inline, parent)
        changed[key] = [row for row in rows if not _same(inline, row, saved)]
    return changed


def _same(inline: InlineModelView, row: dict[str, Any], saved: dict[str, Any]) -> bool:
    obj = saved.get(str(row["pk"])) if row["pk"] is not None else None
    if obj is None or row["delete"]:
        return False
    for field in inline.fields:
        if field.read_only or field.name not in row["data"]:
            continue
        value, mine = getattr(obj, field.name, None), row["data"][field.name]
        if isinstance(field, RelationField):
            value = None if value is None else str(inspect(value).identity[0])
            mine = None if mine in (None, "") else str(mine)
        if value != mine:
            return False
    return True


def split_edits(changed: dict[str, Rows]) -> tuple[dict[str, Rows], dict[str, Rows]]:
    """The changed rows in two: edits of saved rows (written here at once, `apply_edits`)
    and the rest, new or removed (written by starlette-admin one by one)."""
    edits = {
        key: [r for r in rows if r["pk"] is not None and not r["delete"]]
        for key, rows in changed.items()
    }
    rest = {
        key: [r for r in rows if r["pk"] is None or r["delete"]] for key, rows in changed.items()
    }
    return edits, rest


async def apply_edits(
    request: Request, view: BaseModelView, parent: Any, edits: dict[str, Rows]
) -> None:
    """Write the edited saved rows in one flush: their related records read in one query
    per relation, their values set on the rows already read for the check (starlette-
    admin's way is a savepoint, two look-ups and a flush per row: a reorder of 200 lines
    touches all 200). A related record that does not exist is an error at its field."""
    errors: dict[Any, Any] = {}
    for inline in compat.inline_views(view):
        key = str(inline.key)
        rows = edits.get(key, [])
        if not rows:
            continue
        saved = await _saved(request, inline, parent)
        related = await _related(request, inline, rows)
        for row in rows:
            problems = _assign(inline, saved[str(row["pk"])], row["data"], related)
            if problems:
                row["errors"].update(problems)
                errors.setdefault(key, {})[row["index"]] = row["errors"]
    if errors:
        raise FormValidationError({"inlines": errors})
    await get_session(request).flush()


async def _related(
    request: Request, inline: InlineModelView, rows: Rows
) -> dict[str, dict[str, Any]]:
    """For each relation field, the records the rows name, by key, in one query each."""
    mapper = inspect(inline.model)  # type: ignore[attr-defined]
    found: dict[str, dict[str, Any]] = {}
    for field in inline.fields:
        if not isinstance(field, RelationField) or field.read_only:
            continue
        target = mapper.relationships[field.name].mapper
        column = target.primary_key[0]
        keys = {str(r["data"].get(field.name)) for r in rows if r["data"].get(field.name)}
        wanted = [v for k in keys if (v := _key(column, k)) is not None]
        stmt = select(target.class_).where(column.in_(wanted))
        records = (await get_session(request).scalars(stmt)).all()
        found[field.name] = {str(inspect(r).identity[0]): r for r in records}
    return found


def _key(column: Any, text: str) -> Any:
    """`text` as a key of `column`, or None when no row can have it (out of 32 bits too)."""
    try:
        key = column.type.python_type(text)
    except (TypeError, ValueError):
        return None
    return None if isinstance(key, int) and not -(2**31) <= key < 2**31 else key


def _assign(
    inline: InlineModelView, obj: Any, data: dict[str, Any], related: dict[str, dict[str, Any]]
) -> dict[str, str]:
    problems: dict[str, str] = {}
    for field in inline.fields:
        if field.read_only or field.name not in data:
            continue
        value = data[field.name]
        if field.name in related:
            value = related[field.name].get(str(value))
            if value is None:
                problems[field.name] = "Choose one of the offered values."
                continue
        setattr(obj, field.name, value)
    return problems


async def bump_version(request: Request, parent: Any) -> None:
    """Move a versioned parent's version on when its rows changed: the parent's version
    then covers its rows, so two forms saving the same order's lines cannot both win
    (the loser's `UPDATE … WHERE version = …` matches nothing). Not logged: no field
    of the parent changed."""
    mapper = inspect(type(parent))
    column = mapper.version_id_col
    if column is None:
        return
    session = get_session(request)
    await session.flush()
    version = getattr(parent, column.key)
    keys = mapper.primary_key_from_instance(parent)
    where = [c == v for c, v in zip(mapper.primary_key, keys, strict=True)]
    stmt = update(mapper.local_table).where(*where, column == version)
    result = await session.execute(stmt.values({column.key: version + 1}))
    if getattr(result, "rowcount", 1) != 1:
        raise StaleDataError("the record changed since it was read")
    set_committed_value(parent, column.key, version + 1)


async def lost_race(
    request: Request, view: ModelView, parent: Any, inline_data: dict[str, Rows]
) -> None:
    """The 409 for a save that lost a race with another save of the same record."""
    pk = await view.get_pk_value(request, parent)
    await get_session(request).rollback()
    request.state.child_rows_saved = {}
    parent = await view.find_by_pk(request, pk)
    if parent is None:
        raise EditConflict(view, pk, [], gone=True)
    form = await request.form()
    differ: list[ConflictRow] = []
    for inline in compat.inline_views(view):
        rows = inline_data.get(str(inline.key), [])
        differ += await _differ(request, inline, parent, rows, form, True)
    raise EditConflict(view, pk, differ, gone=False)


async def stale_in_form(request: Request, view: BaseModelView, parent: Any) -> list[ConflictRow]:
    """The conflict page's rows for the child rows of a form refused as a whole (its
    parent changed): each submitted row that differs from the saved one, read straight
    from the form."""
    form = await request.form()
    request.state.child_rows_saved = {}  # read afresh: the transaction was rolled back
    differ: list[ConflictRow] = []
    for inline in compat.inline_views(view):
        rows = _form_rows(form, inline)
        differ += await _differ(request, inline, parent, rows, form, True)
    return differ


def _form_rows(form: FormData, inline: InlineModelView) -> Rows:
    """A formset's rows as submitted, unparsed (text values), in the form's order."""
    prefix = compat.inline_prefix(inline)
    indices = sorted(
        {
            int(m.group(1))
            for name in form
            if (m := re.fullmatch(rf"{re.escape(prefix)}\.(\d+)\.\w+", name))
        }
    )
    rows: Rows = []
    for index in indices:
        start = f"{prefix}.{index}."
        pk = form.get(start + "pk") or None
        data = {f.name: form.get(start + f.name) or None for f in inline.fields}
        rows.append(
            {"index": index, "pk": pk, "data": data, "delete": bool(form.get(start + "DELETE"))}
        )
    return rows


async def _differ(
    request: Request,
    inline: InlineModelView,
    parent: Any,
    rows: Rows,
    form: FormData,
    opened: bool,
) -> list[ConflictRow]:
    """The rows that changed, went or came since the form was opened."""
    current = dict(await _saved(request, inline, parent))
    label = str(getattr(inline, "row_noun", "Row"))
    differ: list[ConflictRow] = []
    for place, row in enumerate(rows, start=1):
        if row["pk"] is None:
            continue
        obj = current.pop(str(row["pk"]), None)
        if obj is None:
            now = "(removed by someone else)"
        elif opened and str(form.get(version_name(inline, row["index"]))) != str(obj.version):
            now = describe_obj(inline, obj)
        else:
            continue
        mine = "(remove)" if row["delete"] else await describe_data(request, inline, row["data"])
        differ.append(ConflictRow(f"{label} {place} (#{str(row['pk'])[:20]})", now, mine))
    if opened:
        for pk, obj in current.items():
            text = describe_obj(inline, obj)
            differ.append(ConflictRow(f"{label} #{pk}", text, "(not in your form)"))
    return differ


async def _saved(request: Request, inline: InlineModelView, parent: Any) -> dict[str, Any]:
    """The parent's saved rows by key, read once per request (until a rollback)."""
    cache: dict[str, dict[str, Any]] = getattr(request.state, "child_rows_saved", None) or {}
    request.state.child_rows_saved = cache
    key = str(inline.key)
    if key not in cache:
        rows = await inline.find_by_parent(request, parent)
        cache[key] = {str(await inline.get_pk_value(request, obj)): obj for obj in rows}
    return cache[key]


def _shown(inline: InlineModelView) -> list[Any]:
    return [f for f in inline.fields if f.name not in ("id", POSITION) and not f.read_only]


def describe_obj(inline: InlineModelView, obj: Any) -> str:
    """A saved row in words, field by field: "Product: Mug; Quantity: 2; …"."""
    parts = [f"{field.label}: {_text(getattr(obj, field.name, None))}" for field in _shown(inline)]
    return "; ".join(parts)


async def describe_data(request: Request, inline: InlineModelView, data: dict[str, Any]) -> str:
    """A submitted row in the same words as `describe_obj`."""
    parts = []
    for field in _shown(inline):
        value = data.get(field.name)
        if isinstance(field, RelationField) and value not in (None, ""):
            foreign = compat.find_foreign_view(inline, str(field.key))
            found = await foreign.find_by_pk(request, value)
            value = found if found is not None else value
        parts.append(f"{field.label}: {_text(value)}")
    return "; ".join(parts)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


async def table_context(request: Request, inline: Any, form: FormData | None) -> dict[str, Any]:
    """What `inline_table.html` needs besides the rows: the rows' form-name `prefix`, the
    choices of its relation fields (`options`, once per form), their labels by key, and
    which fields they are."""
    options = await inline.form_options(request)
    labels = {
        name: {value: (label, hint) for value, label, hint in choices}
        for name, choices in options.items()
    }
    choice_fields = {f.name for f in inline.fields if isinstance(f, RelationField)}
    params = {f.name: Markup(f.input_params()) for f in inline.fields}  # noqa: S704 (escaped)
    return {
        "input_params": params,
        "prefix": compat.inline_prefix(inline),
        "options": options,
        "labels": labels,
        "choice_fields": choice_fields,
    }


def remember_versions(request: Request, inline: InlineModelView, rows: Any) -> None:
    """Note the versions of the rows a form is made from (read with them, no second query)."""
    versions = getattr(request.state, "child_row_versions", None) or {}
    request.state.child_row_versions = versions
    versions[str(inline.key)] = {
        str(inspect(row).identity[0]): getattr(row, "version", None) for row in rows
    }


def add_versions(
    request: Request, inline: InlineModelView, rows: Rows, form: FormData | None
) -> None:
    """Give each rendered row the version it is edited from: the saved one on a new form,
    the one the form was first made from when it is shown again with errors."""
    saved = (getattr(request.state, "child_row_versions", None) or {}).get(str(inline.key), {})
    for row in rows:
        if row.get("pk") is None:
            continue
        if form is None:
            row["version"] = saved.get(str(row["pk"]))
        else:
            row["version"] = form.get(version_name(inline, row["index"]))


def rows_total(rows: Rows, total_of: Any) -> str:
    """The sum of the product of `total_of` fields over the rows kept, as "12.50"; the
    template's starting value for what static/child_rows.js keeps up to date."""
    total = Decimal(0)
    for row in rows:
        if row.get("delete") or not row.get("obj"):
            continue
        product = Decimal(1)
        for name in total_of:
            try:
                product *= Decimal(str(row["obj"].get(name)))
            except (ArithmeticError, ValueError, TypeError):
                product = Decimal(0)
        total += product if product.is_finite() else 0
    return f"{total.quantize(Decimal('0.01')):f}" if abs(total) < 10**15 else "—"
