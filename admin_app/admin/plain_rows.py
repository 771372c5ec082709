"""A list page's rows straight from asyncpg, as plain values, when nothing needs more.

Loading a page of 25 rows through SQLAlchemy's ORM builds 25 mapped objects, with
their identity-map entries and loader state: about 0.4 ms of CPU, where asyncpg alone
returns the same rows in under 0.1. Most list pages need nothing but the column
values: their cells are built from values (`admin_app.admin.cells`, a plan whose
`reads` is set), with no relation to load and no view code to call with the object.
For those pages the list query (the view's own, with its search, filters, scope and
order) selects the model's columns and runs on the driver; each row comes back as a
`PlainRow`, whose attributes are the column values, converted by the column types as
SQLAlchemy would convert them.

Why not only SQLAlchemy: its execution path is the cost. What is kept from it: the
statement (built as before), its compiled form (compiled once per statement shape,
found again by SQLAlchemy's own cache key), bound values and their conversions.
Anything this cannot run as SQLAlchemy would (values it would expand into the SQL,
statement-level parameters, a statement that does not compile with plain columns, a
driver other than asyncpg) returns None, and the page is loaded through the ORM as
before; so does a query that fails on the driver, so that SQLAlchemy handles the
failure (a lost server replaces the pool) as everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

PLANS_KEPT = 256
"""Compiled statements kept per view; all are dropped at once when there are more."""


class PlainRow:
    """One listed row: the model's column values as attributes, read-only by convention."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"PlainRow({self.__dict__!r})"


@dataclass(frozen=True)
class _Plan:
    """How one statement shape runs on the driver."""

    compiled: Any
    sql: str
    positions: tuple[str, ...]
    binds: dict[str, Callable[[Any], Any]]
    converts: tuple[tuple[int, Callable[[Any], Any]], ...]
    """(result position, conversion) for the columns whose type converts the value."""


class PlainRows:
    """Plain rows of one model's list query, on asyncpg."""

    def __init__(self, model: type[Any]) -> None:
        mapper = inspect(model)
        attrs = [a for a in mapper.column_attrs if len(a.columns) == 1 and not a.deferred]
        self.keys = tuple(a.key for a in attrs)
        self.columns = [a.columns[0] for a in attrs]
        self.pk = tuple(
            self.keys.index(mapper.get_property_by_column(c).key) for c in mapper.primary_key
        )
        self._plans: dict[Any, _Plan | None] = {}

    async def fetch(
        self, db: AsyncSession, query: Select[Any], limit: int
    ) -> list[PlainRow] | None:
        """Up to `limit` rows of `query` (an ORM select of the model), or None when they
        must be loaded through the ORM instead."""
        conn = await db.connection()
        if conn.dialect.driver != "asyncpg":
            return None
        stmt = query.with_only_columns(*self.columns, maintain_column_froms=True).limit(limit)
        cache_key = stmt._generate_cache_key()
        if cache_key is None or cache_key.params:
            return None
        plan = self._plan(stmt, cache_key, conn.dialect)
        if plan is None:
            return None
        values = plan.compiled.construct_params(
            extracted_parameters=cache_key.bindparams, escape_names=False
        )
        binds = plan.binds
        args = [binds[n](values[n]) if n in binds else values[n] for n in plan.positions]
        raw: Any = (await conn.get_raw_connection()).driver_connection
        try:
            records = await raw.fetch(plan.sql, *args)
        except Exception as error:
            log.debug("plain rows failed on the driver (%s); loading through the ORM", error)
            return None
        return self._rows(records, plan.converts)

    def _rows(
        self, records: Sequence[Any], converts: tuple[tuple[int, Any], ...]
    ) -> list[PlainRow]:
        keys, pk, seen = self.keys, self.pk, set()
        rows = []
        for record in records:
            values = list(record)
            for i, convert in converts:
                values[i] = convert(values[i])
            identity = tuple(values[i] for i in pk)
            if identity in seen:  # a joined query's repeats, as the ORM's unique() drops them
                continue
            seen.add(identity)
            rows.append(PlainRow(dict(zip(keys, values, strict=True))))
        return rows

    def _plan(self, stmt: Select[Any], cache_key: Any, dialect: Dialect) -> _Plan | None:
        key = (dialect.name, cache_key.key)
        if key in self._plans:
            return self._plans[key]
        plan = _compile(stmt, cache_key, dialect, self.columns)
        if len(self._plans) >= PLANS_KEPT:
            self._plans.clear()
        self._plans[key] = plan
        return plan


def _compile(
    stmt: Select[Any], cache_key: Any, dialect: Dialect, columns: list[Any]
) -> _Plan | None:
    try:
        compiled: Any = stmt.compile(dialect=dialect, cache_key=cache_key, column_keys=[])
    except Exception as error:  # e.g. loader options that need the mapped entity
        log.debug("list query does not compile with plain columns (%s)", error)
        return None
    if not compiled.positional or compiled.post_compile_params or compiled.literal_execute_params:
        return None  # values SQLAlchemy renders into the SQL per execution
    converts = []
    for i, column in enumerate(columns):
        try:
            convert = column.type.dialect_impl(dialect).result_processor(dialect, None)
        except Exception:  # a conversion that depends on the type the server sends (NUMERIC)
            return None
        if convert is not None:
            converts.append((i, convert))
    return _Plan(
        compiled=compiled,
        sql=compiled.string,
        positions=tuple(compiled.positiontup or ()),
        binds=dict(compiled._bind_processors),
        converts=tuple(converts),
    )
