"""A list's state as URL parameters: normalised for storing, checked for a viewer.

The state is the list's own query parameters, `STATE_PARAMS`, in that order, empty ones
dropped. Opening a view re-reads them for whoever opens it: a column, sort or filter on
a field this viewer's list does not have (removed since, or not theirs to see) is left
out, and named in a notice, rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette_admin.i18n import gettext
from starlette_admin.types import RequestAction

from admin_app.admin import compat
from admin_app.admin.lists.query import ListingMixin

STATE_PARAMS = ("q", "filter", "sort", "cols", "page_size")
"""The list parameters a view keeps, in the order it stores them."""

MAX_STATE_LENGTH = 4000
"""Longest stored state, in characters; a list URL that long is not one a person built."""


class StateError(ValueError):
    """A list state that cannot be stored, with the reason in words."""


def normalised(raw: str | Iterable[tuple[str, str]]) -> str:
    """The state in `raw` (a query string or pairs), as stored: only `STATE_PARAMS`, in
    their order, without empty values. `StateError` for one too long or unreadable."""
    pairs = parse_qsl(raw, keep_blank_values=False) if isinstance(raw, str) else list(raw)
    kept = [
        (name, value.strip())
        for name in STATE_PARAMS
        for key, value in pairs
        if key == name and value.strip()
    ]
    if any("\x00" in value for _, value in kept):
        raise StateError(gettext("The list's state contains a character that cannot be stored."))
    text = urlencode(kept)
    if len(text) > MAX_STATE_LENGTH:
        said = gettext("The list's state is longer than %(count)s characters.")
        raise StateError(said % {"count": MAX_STATE_LENGTH})
    return text


def has_state(params: QueryParams) -> bool:
    """Whether a list URL says anything about the list's state."""
    return any(name in params for name in STATE_PARAMS)


@dataclass
class Checked:
    """A state as this viewer may open it, and what had to be left out."""

    query: str
    dropped: list[str] = field(default_factory=list)


def checked_for(request: Request, view: ListingMixin, stored: str) -> Checked:
    """`stored` with what this viewer's list lacks left out (named in `dropped`)."""
    params = QueryParams(stored)
    request.state.action = RequestAction.LIST
    shown = {f.name for f in view.get_fields_list(request)}
    nested = view.get_fields_list(request, include_nested=True)
    sortable = {f.name for f in nested if f.orderable}
    searchable = {f.name for f in nested if f.searchable}
    dropped: list[str] = []
    pairs: list[tuple[str, str]] = []
    for name, value in params.multi_items():
        kept = _kept(view, name, value, shown, sortable, searchable, dropped)
        if kept is not None:
            pairs.append((name, kept))
    return Checked(_still_valid(request, view, pairs, dropped), dropped)


def _kept(
    view: ListingMixin,
    name: str,
    value: str,
    shown: set[str],
    sortable: set[str],
    searchable: set[str],
    dropped: list[str],
) -> str | None:
    """One parameter as this viewer may use it, or None; what it loses goes to `dropped`."""
    if name == "cols":
        cols = [c.strip() for c in value.split(",") if c.strip()]
        dropped += [c for c in cols if c not in shown]
        return ",".join(c for c in cols if c in shown) or None
    if name == "sort":
        field_name = value.rpartition("__")[0]
        if field_name not in sortable:
            dropped.append(field_name or value)
            return None
    if name == "filter":
        missing = [f for f in _filter_fields(view, value) if f not in searchable]
        if missing:
            dropped += missing
            return None
    return value


def _filter_fields(view: ListingMixin, raw: str) -> list[str]:
    """The fields a filter string names ("?" for one that cannot be read)."""
    try:
        tree = compat.parse_filter_string(view, raw)
    except ValueError:
        return ["filter"]
    names: list[str] = []
    _collect(tree, names)
    return names


def _collect(node: Any, names: list[str]) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            names.append(node["field"])
        for rule in node.get("rules") or []:
            _collect(rule, names)


def _still_valid(
    request: Request, view: ListingMixin, pairs: list[tuple[str, str]], dropped: list[str]
) -> str:
    """`pairs` as a query the list accepts: a filter or page size the list refuses (a
    filter whose operator no longer exists, a page size no longer offered) is left out,
    and if the list still refuses it, all of it."""
    for name in ("filter", "page_size", "everything"):
        try:
            compat.parse_list_params(view, request, QueryParams(urlencode(pairs)))
            return urlencode(pairs)
        except HTTPException:
            if name == "everything" or any(key == name for key, _ in pairs):
                dropped.append(name)
            pairs = [] if name == "everything" else [(k, v) for k, v in pairs if k != name]
    return ""
