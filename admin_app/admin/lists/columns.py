"""The search box: substring matches that an index can serve.

starlette-admin searches with `CAST(col AS VARCHAR) ILIKE '%term%'`; the cast hides
the column from every index, so each search reads the whole table. Here the column
is left bare: `col ILIKE '%term%'` on PostgreSQL, which a pg_trgm GIN index on
`col` answers (see the `*_trgm` indexes on the models), and `col LIKE '%term%'`
on SQLite, whose LIKE already ignores ASCII case. Enum columns match the
choices whose value or label contains the term, by equality.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, or_
from sqlalchemy.orm import ColumnProperty
from starlette_admin.fields import (
    BaseField,
    EmailField,
    EnumField,
    PhoneField,
    SlugField,
    StringField,
    TextAreaField,
    URLField,
)

TEXT_FIELDS = (StringField, SlugField, TextAreaField, EmailField, URLField, PhoneField)
"""Field types whose column the search box matches by substring."""

MAX_TERM_LENGTH = 200
"""Longer search terms are refused (a 400): no one types them, and they cost."""


class SearchTermError(ValueError):
    """A search term that cannot be searched for."""


def clean_term(term: str) -> str:
    """The term to search for, or `SearchTermError` for one the database would reject."""
    term = term.strip()
    if "\x00" in term:
        raise SearchTermError("The search text contains a character that cannot be searched.")
    if len(term) > MAX_TERM_LENGTH:
        raise SearchTermError(f"Search for at most {MAX_TERM_LENGTH} characters.")
    return term


def escape_like(term: str) -> str:
    """`term` with LIKE's wildcards taken literally (escape character `\\`)."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains(column: Any, term: str, dialect: str) -> ColumnElement[bool]:
    """`column` contains `term`, ignoring case, in a form its trigram index can use."""
    pattern = f"%{escape_like(term)}%"
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


def enum_matches(column: Any, field: EnumField, term: str) -> ColumnElement[bool]:
    """`column` holds one of the choices whose value or label contains `term`."""
    needle = term.casefold()
    values = [
        value
        for value, label in _choices(field)
        if needle in str(value).casefold() or needle in str(label).casefold()
    ]
    if not values:
        return false()
    python_type = column.type.python_type
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        values = [python_type(v) for v in values]
    return column.in_(values)  # type: ignore[no-any-return]


def _choices(field: EnumField) -> Iterable[tuple[Any, Any]]:
    if field.choices:
        return [(choice[0], choice[1]) for choice in field.choices]
    if field.enum is not None:
        return [(member.value, member.name) for member in field.enum]
    return []


def search_clause(
    model: type[Any], fields: Iterable[BaseField], term: str, dialect: str
) -> ColumnElement[bool]:
    """OR of the per-field matches for `term` over the searchable text and enum fields."""
    clauses = []
    for field in fields:
        column = getattr(model, field.name, None)
        is_column = isinstance(getattr(column, "property", None), ColumnProperty)
        if not field.searchable or not is_column:
            continue
        if isinstance(field, EnumField):
            clauses.append(enum_matches(column, field, term))
        elif type(field) in TEXT_FIELDS:
            clauses.append(contains(column, term, dialect))
    return or_(*clauses) if clauses else false()
