"""A list page's rows straight from asyncpg, as plain values, when nothing needs more.

Loading a page of 25 rows through SQLAlchemy's ORM builds 25 mapped objects, with
their identity-map entries and loader state: about 0.4 ms of CPU, where asyncpg alone
returns the same rows in under 0.1. Most list pages need nothing but the column
values: their cells are built from values (`admin_app.admin.cells`, a plan whose
`reads` is set), with no relation to load and no view code to call with the object.
For those pages the list query (the view's own, with its search, filters, scope and
order), compiled as SQLAlchemy compiles it, runs on the driver when every column it
returns is one of the model's own; each row comes back as a `PlainRow`, whose
attributes are the column values, converted by the column types as SQLAlchemy would
convert them.

Why not only SQLAlchemy: its execution path is the cost. What is kept from it: the
statement (built as before), its compiled form (compiled once per statement shape,
found again by SQLAlchemy's own cache key), bound values and their conversions.
Anything this cannot run as SQLAlchemy would (values it would expand into the SQL,
statement-level parameters, columns of other tables, event hooks that would see or
change the statement, a driver other than asyncpg) returns None, and the page is
loaded through the ORM as before; so does a query that fails on the driver, so that
SQLAlchemy handles the failure (a lost server replaces the pool) as everywhere else.

It reads SQLAlchemy internals the way its own execution does: the statement's cache
key, `construct_params` with the key's extracted values, the compiled statement's
bind processors and result columns. SQLAlchemy is pinned in uv.lock; should an
upgrade change them, pages still load (through the ORM, with an error in the log)
and `tests/admin/test_plain_rows.py` fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Select, inspect
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty
from sqlalchemy.orm.exc import UnmappedColumnError

from admin_app.db import fetch_on_driver

log = logging.getLogger(__name__)

PLANS_KEPT = 256
"""Compiled statements kept per view; all are dropped at once when there are more."""


class PlainRow:
    """One listed row: the model's column values as attributes, read-only by convention."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values  # the row's own dict, made for it: no copy

    def __repr__(self) -> str:
        return f"PlainRow({self.__dict__!r})"


@dataclass(frozen=True)
class _Plan:
    """How one statement shape runs on the driver, and how its rows are read."""

    compiled: Any
    sql: str
    positions: tuple[str, ...]
    binds: dict[str, Callable[[Any], Any]]
    keys: tuple[str, ...]
    """The attribute each result column fills."""
    pk: tuple[int, ...]
    """Result positions of the primary key."""
    converts: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(result position, conversion) for the columns whose type converts the value."""


@dataclass(frozen=True)
class Prepared:
    """One statement, ready to run on the driver: its plan and its arguments."""

    plan: _Plan
    args: tuple[Any, ...]


class PlainRows:
    """Plain rows of one model's list query, on asyncpg."""

    def __init__(self, model: type[Any]) -> None:
        self.mapper = inspect(model)
        self.columns = frozenset(a.key for a in self.mapper.column_attrs if not a.deferred)
        self._plans: dict[Any, _Plan | None] = {}

    def cover(self, names: Sequence[str]) -> bool:
        """Whether plain rows carry every attribute in `names` (a Python property or a
        relation is only on the model's objects)."""
        return self.columns.issuperset(names)

    async def fetch(
        self, db: AsyncSession, query: Select[Any], limit: int
    ) -> list[PlainRow] | None:
        """Up to `limit` rows of `query` (an ORM select of the model), or None when they
        must be loaded through the ORM instead."""
        prepared = self.prepare(query.limit(limit), db.get_bind().dialect)
        return None if prepared is None else await self.run(db, prepared)

    def prepare(self, stmt: Select[Any], dialect: Dialect) -> Prepared | None:
        """`stmt` as the driver runs it (SQL, arguments, how to read the rows), or None
        when only SQLAlchemy may run it. What it holds is fixed once built, so a caller
        that knows its statement would be built the same way again may keep it
        (`ListingMixin.list_page` does, for the first and last pages of a URL)."""
        if dialect.driver != "asyncpg":
            return None
        cache_key = stmt._generate_cache_key()
        if cache_key is None or cache_key.params:
            return None
        plan = self._plan(stmt, cache_key, dialect)
        if plan is None:
            return None
        values = plan.compiled.construct_params(
            extracted_parameters=cache_key.bindparams, escape_names=False
        )
        binds = plan.binds
        args = [binds[n](values[n]) if n in binds else values[n] for n in plan.positions]
        return Prepared(plan, tuple(args))

    async def run(self, db: AsyncSession, prepared: Prepared) -> list[PlainRow] | None:
        """The rows of a prepared statement, or None when they must be loaded through the
        ORM (an event hook listens, or the driver failed)."""
        bind = db.get_bind()
        if bind.dialect.driver != "asyncpg" or _hooked(db, bind):
            return None
        records = await fetch_on_driver(db, prepared.plan.sql, prepared.args)
        return None if records is None else _rows(records, prepared.plan)

    def _plan(self, stmt: Select[Any], cache_key: Any, dialect: Dialect) -> _Plan | None:
        key = (dialect.name, cache_key.key)
        if key in self._plans:
            return self._plans[key]
        try:
            plan = _compile(stmt, cache_key, dialect, self.mapper)
        except Exception:  # SQLAlchemy's compiled form changed shape: the ORM still works
            log.exception("cannot read the compiled list query; loading through the ORM")
            plan = None
        if len(self._plans) >= PLANS_KEPT:
            self._plans.clear()
        self._plans[key] = plan
        return plan


def _hooked(db: AsyncSession, bind: Engine | Connection) -> bool:
    """Whether an event hook would see or change the statement SQLAlchemy runs (global
    criteria added in `do_orm_execute`, say): then only SQLAlchemy may run it."""
    dispatch = bind.dispatch
    return bool(
        db.sync_session.dispatch.do_orm_execute
        or dispatch.before_execute
        or dispatch.before_cursor_execute
    )


def _rows(records: Sequence[Any], plan: _Plan) -> list[PlainRow]:
    keys, converts = plan.keys, plan.converts
    identity_of = itemgetter(*plan.pk)
    seen: set[Any] = set()
    rows = []
    for record in records:
        identity = identity_of(record)
        if identity in seen:  # a joined query's repeats, as the ORM's unique() drops them
            continue
        seen.add(identity)
        values = dict(zip(keys, record, strict=True))
        for i, convert in converts:
            values[keys[i]] = convert(record[i])
        rows.append(PlainRow(values))
    return rows


def _own_property(mapper: Any, column: Column[Any]) -> Any:
    try:
        return mapper.get_property_by_column(column)
    except UnmappedColumnError:  # a column of another table
        return None


def _compile(stmt: Select[Any], cache_key: Any, dialect: Dialect, mapper: Any) -> _Plan | None:
    compiled: Any = stmt.compile(dialect=dialect, cache_key=cache_key, column_keys=[])
    if not compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
        return None  # values SQLAlchemy renders into the SQL per execution
    keys: list[str] = []
    converts = []
    for i, (*_, objects, _type) in enumerate(compiled._result_columns):
        column = next((o for o in objects if isinstance(o, Column)), None)
        prop = _own_property(mapper, column) if column is not None else None
        if column is None or not isinstance(prop, ColumnProperty) or prop.parent is not mapper:
            return None  # not one of the model's own columns (an eager-loaded relation…)
        try:
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        except Exception:  # a conversion that depends on the type the server sends (NUMERIC)
            return None
        keys.append(prop.key)
        if convert is not None:
            converts.append((i, convert))
    pk = [
        keys.index(prop.key)
        for prop in (mapper.get_property_by_column(c) for c in mapper.primary_key)
        if prop.key in keys
    ]
    if len(pk) != len(mapper.primary_key):
        return None
    return _Plan(
        compiled=compiled,
        sql=compiled.string,
        positions=tuple(compiled.positiontup or ()),
        binds=dict(compiled._bind_processors),
        keys=tuple(keys),
        pk=tuple(pk),
        converts=tuple(converts),
    )
