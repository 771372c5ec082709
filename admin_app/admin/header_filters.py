"""A filter in each column header of a list, fitted to the column's type.

Each filterable column header gets a button that opens a popover (the HTML `popover`
attribute: no script needed to open it, to close it on Escape or a click elsewhere, or
to keep one open at a time) with a small form: text contains or equals, a number range,
a date period (today, last 7 days, this month) or range, yes or no, a choice, or a
related record picked with the relation picker's look-up, with that relation's
`relation_filters` beside it (`admin_app.admin.relation_filters`). On a phone the form
opens as a sheet at the bottom of the screen.

The list page carries only the buttons and empty popovers: the forms (a tenth of a
customer list, more with a long choice list) come from `GET /_api/{key}/header-filter`
(`popover_forms`) when a popover is first opened, built for the user's permissions and
the choices of that moment. Each empty popover holds a link to its forms, which is what
a browser without JavaScript follows.

The form is a plain GET of the list with `hf=<field>` and its value; the list answers
with a redirect to the same list whose `filter=` parameter has that column's condition
set (replacing the column's previous one), so chips, saved views, "export this view"
and the back button see only the filter builder's own URL state. `static/header_filters.js`
fetches the forms, places the popover under its button, moves focus into it, keeps
`aria-expanded` true to it, and fills in the look-up's suggestions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.fields import BaseField, DateField, EnumField, HasOne
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext, lazy_gettext
from starlette_admin.types import ListParams

from admin_app.admin import compat
from admin_app.admin.chrome import url_path
from admin_app.admin.field_markup import esc
from admin_app.admin.filters import FILTERS, PERIODS

FORM_PARAMS = ("hf", "hf_op", "hf_v", "hf_v2", "hf_period", "hf_clear", "hf_form")
"""The parameters a header filter's form sends (and `hf_form`, the column whose forms are
asked for); the redirect and the forms' hidden fields leave them out."""
POSITION_PARAMS = ("after", "before", "last", "page")
"""Where in the list a page is: a new filter starts at the first page."""
TEXT_OPS = {"contains": lazy_gettext("contains"), "eq": lazy_gettext("is exactly")}


def control_kind(names: set[str]) -> str | None:
    """Which control a column gets, from the filters its type offers (None: no control)."""
    for kind, needs in _KINDS:
        if needs <= names:
            return kind
    return None


_KINDS = (
    ("relation", {"is"}),
    ("date", {"within", "between"}),
    ("boolean", {"is_true", "is_false"}),
    ("number", {"between", "gte", "lte"}),
    ("choice", {"eq", "in"}),
    ("text", {"contains"}),
)


def filter_fields(request: Request, view: Any) -> dict[str, BaseField]:
    """The fields the user may filter `view`'s list by, by name."""
    fields = view.get_fields_list(request, include_nested=True)
    return {field.name: field for field in fields if field.searchable}


def kind_of(view: Any, field: BaseField) -> str | None:
    """The control of `field`'s header filter, or None."""
    return control_kind({f.name for f in view.get_filter_registry().filters_for(field)})


# -- applying: a form's values become the list's `filter=` -------------------------------


def apply_header_filter(request: Request, view: Any) -> Response | None:
    """A redirect to the list with the header filter the URL carries (`hf=`) set in its
    `filter=`; None when there is none. A value the filter refuses is said in a notice,
    and the list comes back as it was."""
    params = request.query_params
    if "hf" not in params:
        return None
    kept = _kept(request)
    unchanged = _list_url(request, kept)
    try:
        raw = _new_filter(request, view, params)
    except ValueError as error:
        flash(
            request, gettext("The filter was not applied: %(reason)s") % {"reason": error}, "error"
        )
        return RedirectResponse(unchanged, status_code=303)
    query = [(k, v) for k, v in kept if k != "filter"] + ([("filter", raw)] if raw else [])
    try:
        compat.parse_list_params(view, request, QueryParams(query))
    except HTTPException as error:
        flash(
            request,
            gettext("The filter was not applied: %(reason)s") % {"reason": error.detail},
            "error",
        )
        return RedirectResponse(unchanged, status_code=303)
    return RedirectResponse(_list_url(request, query), status_code=303)


def _list_url(request: Request, query: Sequence[tuple[str, str]]) -> str:
    return url_path(request) + (f"?{urlencode(query)}" if query else "")


def _new_filter(request: Request, view: Any, params: QueryParams) -> str:
    """The list's `filter=` with the column's condition replaced by the form's."""
    name = params["hf"]
    field = filter_fields(request, view).get(name)
    kind = kind_of(view, field) if field is not None else None
    if field is None or kind is None:
        raise ValueError(
            gettext("this list cannot be filtered by %(name)s.") % {"name": repr(name)}
        )
    leaf = None if params.get("hf_clear") else LEAVES[kind](field, params)
    rules, logic = _top_rules(view, params.get("filter"))
    if logic == "or":
        tree: Any = {"logic": "and", "rules": [{"logic": "or", "rules": rules}]}
    else:
        tree = {"logic": "and", "rules": [r for r in rules if r.get("field") != name]}
    if leaf is not None:
        tree["rules"].append({"field": name, **leaf})
    return compat.serialize_filter_string(view, tree) if tree["rules"] else ""


def _top_rules(view: Any, raw: str | None) -> tuple[list[dict[str, Any]], str]:
    """The top-level rules of a `filter` parameter, and how they combine."""
    if not raw:
        return [], "and"
    try:
        tree = compat.parse_filter_string(view, raw)
    except ValueError as error:
        said = gettext("the list's other filters cannot be read (%(error)s).")
        raise ValueError(said % {"error": error}) from None
    if "rules" in tree:
        return list(tree["rules"]), str(tree.get("logic", "and"))
    return [tree], "and"


Leaf = dict[str, Any] | None


def _value(params: QueryParams, name: str = "hf_v") -> str:
    return params.get(name, "").strip()


def _text_leaf(field: BaseField, params: QueryParams) -> Leaf:
    op = params.get("hf_op", "contains")
    if op not in TEXT_OPS:
        said = gettext("%(field)s can be matched by %(ops)s.")
        raise ValueError(said % {"field": field.label, "ops": " or ".join(TEXT_OPS)})
    return {"filter": op, "value": _value(params)} if _value(params) else None


def _number_leaf(field: BaseField, params: QueryParams) -> Leaf:
    low, high = _value(params), _value(params, "hf_v2")
    if low and high:
        return {"filter": "between", "value": low, "value2": high}
    if low or high:
        return {"filter": "gte" if low else "lte", "value": low or high}
    return None


def _date_leaf(field: BaseField, params: QueryParams) -> Leaf:
    period = _value(params, "hf_period")
    if period:
        return {"filter": "within", "value": period}
    first, last = _value(params), _value(params, "hf_v2")
    if not (first or last):
        return None
    first, last = first or "1900-01-01", last or "9999-12-30"
    if not isinstance(field, DateField) and "T" not in last:
        last += "T23:59:59"  # the whole of the last day
    return {"filter": "between", "value": first, "value2": last}


def _boolean_leaf(field: BaseField, params: QueryParams) -> Leaf:
    op = params.get("hf_op", "")
    if op not in ("", "is_true", "is_false"):
        raise ValueError(gettext("%(field)s is either yes or no.") % {"field": field.label})
    return {"filter": op} if op else None


def _choice_leaf(field: BaseField, params: QueryParams) -> Leaf:
    return {"filter": "eq", "value": _value(params)} if _value(params) else None


def _relation_leaf(field: BaseField, params: QueryParams) -> Leaf:
    return {"filter": "is", "value": _value(params)} if _value(params) else None


LEAVES: dict[str, Callable[[BaseField, QueryParams], Leaf]] = {
    "text": _text_leaf,
    "number": _number_leaf,
    "date": _date_leaf,
    "boolean": _boolean_leaf,
    "choice": _choice_leaf,
    "relation": _relation_leaf,
}
"""How each kind of control's values become one filter rule (None: the column's cleared)."""


# -- rendering: the button and popover in a column header, the forms on request ----------


def header_filter(
    request: Request, view: Any, field: BaseField, params: ListParams, admin: str, part: str
) -> Markup:
    """Column `field`'s header filter (empty where the column has none): its `button`,
    for the header cell, or its empty `popover`, which goes after the table (a header cell
    holding a form would no longer name its column for screen readers) and links to its
    forms (`popover_forms`). `admin` is the admin's route name."""
    fields = filter_fields(request, view)
    if field.name not in fields or kind_of(view, field) is None:
        return Markup("")
    active = _active(view, request.query_params.get("filter"))
    on = any(f.name in active for f in (field, *_related(fields, field)))
    said = gettext("Filter by %(column)s (filtered)") if on else gettext("Filter by %(column)s")
    label = esc(said % {"column": field.label})
    ident = "hf-pop-" + "".join(c if c.isalnum() else "-" for c in field.name)
    if part == "button":
        return Markup(  # noqa: S704 (every value in it escaped)
            f'<button type="button" class="app-hf-toggle{" is-active" if on else ""}" '
            f'popovertarget="{ident}" aria-expanded="false" aria-label="{label}" '
            f'title="{label}" data-app-hf><i class="fa fa-filter" aria-hidden="true"></i></button>'
        )
    url = request.url_for(f"{admin}:header-filter", key=view.key).path
    query = urlencode([("hf_form", field.name), *_kept(request)])
    opens = esc(gettext("Open the filter form"))
    return Markup(  # noqa: S704 (every value in it escaped)
        f'<div popover id="{ident}" class="app-hf-popover" role="dialog" aria-label="{label}">'
        f'<a href="{esc(url)}?{esc(query)}" data-app-hf-load>{opens}</a></div>'
    )


def popover_forms(request: Request, view: Any, list_path: str, admin: str) -> str | None:
    """The forms of the popover of the column `hf_form` names (None: it has none), as the
    user may use them now, for the list at `list_path` with the request's other
    parameters (its sort, search and filters)."""
    fields = filter_fields(request, view)
    field = fields.get(request.query_params.get("hf_form", ""))
    if field is None or kind_of(view, field) is None:
        return None
    active = _active(view, request.query_params.get("filter"))
    shown = [field, *_related(fields, field)]
    return "".join(_form(request, view, f, active.get(f.name), admin, list_path) for f in shown)


def _kept(request: Request) -> list[tuple[str, str]]:
    """The list's parameters a header filter keeps: not its own, nor the page's position."""
    drop = (*FORM_PARAMS, *POSITION_PARAMS)
    return [(k, v) for k, v in request.query_params.multi_items() if k not in drop]


def _related(fields: dict[str, BaseField], field: BaseField) -> list[BaseField]:
    """The relation filters reached through `field` (a to-one relation's column)."""
    if not isinstance(field, HasOne):
        return []
    return [f for name, f in fields.items() if name.startswith(f"{field.name}.")]


def _active(view: Any, raw: str | None) -> dict[str, dict[str, Any]]:
    """The top-level AND rules in force, by field name (what the forms show filled in)."""
    try:
        rules, logic = _top_rules(view, raw)
    except ValueError:
        return {}
    return {} if logic == "or" else {str(r.get("field")): r for r in rules if "field" in r}


def _form(
    request: Request,
    view: Any,
    field: BaseField,
    rule: dict[str, Any] | None,
    admin: str,
    list_path: str,
) -> str:
    kind = kind_of(view, field)
    if kind is None:
        return ""
    ident = "hf-" + "".join(c if c.isalnum() else "-" for c in field.name)
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, v in [*_kept(request), ("hf", field.name)]
    )
    control = CONTROLS[kind](request, field, ident, rule or {}, admin)
    apply, clear_text = esc(gettext("Apply")), esc(gettext("Clear"))
    clear = (
        '<button type="submit" class="btn btn-sm" name="hf_clear" value="1" '
        f"formnovalidate data-app-hf-clear>{clear_text}</button>"
        if rule
        else ""
    )
    return (
        f'<form method="get" action="{esc(list_path)}" class="app-hf-form" '
        f'data-app-hf-form="{esc(field.name)}">{hidden}'
        f'<fieldset><legend class="app-hf-legend">{esc(str(field.label))}</legend>{control}'
        '<div class="app-hf-actions"><button type="submit" class="btn btn-sm btn-primary">'
        f"{apply}</button>{clear}</div></fieldset></form>"
    )


def _input(ident: str, label: str, attrs: str) -> str:
    return (
        f'<label class="form-label" for="{ident}">{esc(label)}</label>'
        f'<input class="form-control form-control-sm" id="{ident}" {attrs}>'
    )


def _select(ident: str, label: str, name: str, options: list[tuple[str, str]], now: str) -> str:
    items = "".join(
        f'<option value="{esc(v)}"{" selected" if v == now else ""}>{esc(text)}</option>'
        for v, text in options
    )
    return (
        f'<label class="form-label" for="{ident}">{esc(label)}</label>'
        f'<select class="form-select form-select-sm" id="{ident}" name="{name}">'
        f"{items}</select>"
    )


def _raw(rule: dict[str, Any], key: str = "value") -> str:
    value = rule.get(key)
    return ",".join(map(str, value)) if isinstance(value, list) else str(value or "")


Control = Callable[[Request, BaseField, str, dict[str, Any], str], str]


def _text_control(request: Request, f: BaseField, ident: str, rule: dict[str, Any], _: str) -> str:
    offered = {kind.name for kind in FILTERS.filters_for(f)}
    ops = [(op, text) for op, text in TEXT_OPS.items() if op in offered]
    op = _select(f"{ident}-op", gettext("Match"), "hf_op", ops, rule.get("filter", ""))
    value = esc(_raw(rule))
    return op + _input(ident, gettext("Text"), f'type="search" name="hf_v" value="{value}"')


def _number_control(
    request: Request, f: BaseField, ident: str, rule: dict[str, Any], _: str
) -> str:
    op = rule.get("filter")
    low = _raw(rule) if op in ("between", "gte") else ""
    high = _raw(rule, "value2") if op == "between" else _raw(rule) if op == "lte" else ""
    number = 'type="number" step="any"'
    return _input(ident, gettext("From"), f'{number} name="hf_v" value="{esc(low)}"') + _input(
        f"{ident}-to", gettext("To"), f'{number} name="hf_v2" value="{esc(high)}"'
    )


def _date_control(request: Request, f: BaseField, ident: str, rule: dict[str, Any], _: str) -> str:
    period = _raw(rule) if rule.get("filter") == "within" else ""
    presets = [("", gettext("Any time")), *PERIODS.items()]
    or_between = gettext("or between")
    between = rule.get("filter") == "between"
    first = _raw(rule)[:10] if between else ""
    last = _raw(rule, "value2")[:10] if between else ""
    return (
        _select(f"{ident}-period", gettext("Period"), "hf_period", presets, period)
        + f'<p class="app-hf-or">{esc(or_between)}</p>'
        + _input(ident, gettext("From"), f'type="date" name="hf_v" value="{esc(first)}"')
        + _input(f"{ident}-to", gettext("To"), f'type="date" name="hf_v2" value="{esc(last)}"')
    )


def _boolean_control(
    request: Request, f: BaseField, ident: str, rule: dict[str, Any], _: str
) -> str:
    now = str(rule.get("filter", ""))
    options = [("", gettext("Any")), ("is_true", gettext("Yes")), ("is_false", gettext("No"))]
    return _select(ident, str(f.label), "hf_op", options, now)


def _choice_control(
    request: Request, f: BaseField, ident: str, rule: dict[str, Any], admin: str
) -> str:
    assert isinstance(f, EnumField)
    choices = [(str(v), str(text)) for v, text in compat.enum_choices(f, request)]
    return _select(ident, str(f.label), "hf_v", [("", gettext("Any")), *choices], _raw(rule))


def _relation_control(
    request: Request, f: BaseField, ident: str, rule: dict[str, Any], admin: str
) -> str:
    assert isinstance(f, HasOne)
    url = request.url_for(f"{admin}:relation-lookup", key=f.key).path
    hint = gettext("Type to search, or give the ID.")
    attrs = (
        f'type="text" name="hf_v" value="{esc(_raw(rule))}" list="{ident}-options" '
        f'autocomplete="off" data-app-lookup="{esc(url)}" aria-describedby="{ident}-hint"'
    )
    return (
        _input(ident, gettext("%(field)s is") % {"field": f.label}, attrs)
        + f'<datalist id="{ident}-options"></datalist>'
        + f'<small class="form-hint" id="{ident}-hint">{esc(hint)}</small>'
    )


CONTROLS: dict[str, Control] = {
    "text": _text_control,
    "number": _number_control,
    "date": _date_control,
    "boolean": _boolean_control,
    "choice": _choice_control,
    "relation": _relation_control,
}
"""The form controls of each kind of header filter (see `control_kind`)."""
