"""The declarative base, portable column types, and engine and sessionmaker factories.

Nothing here connects at import time: `create_engine` is called by the app's
lifespan, the CLI and the tests, each with its own settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import asyncpg
from sqlalchemy import JSON, DateTime, Index, MetaData, Numeric, Select, Table, event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, Pool
from sqlalchemy.types import TypeDecorator, TypeEngine

from admin_app.driver_pool import DriverPool, lost_connection
from admin_app.settings import Settings

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored in UTC, that comes back aware on SQLite too.

    SQLite has no timezone type, so a plain `DateTime(timezone=True)` returns naive
    values there; this decorator makes both backends behave the same.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """`NUMERIC(12, 2)` that is a `Decimal` in Python on both backends.

    SQLite stores NUMERIC as a float; rather than let SQLAlchemy warn about lost
    precision on every query, values are rounded back to two places on the way out.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return float(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


class Base(DeclarativeBase):
    """Every model inherits from this; Alembic compares migrations against its metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, Decimal: Money, dict[str, Any]: JSON}


class Versioned:
    """A row version, checked on every UPDATE: saving over someone else's change fails.

    SQLAlchemy adds `WHERE version = <the version loaded>` to each UPDATE and raises
    `StaleDataError` when no row matches; the admin turns that into a 409 conflict page.
    """

    version: Mapped[int] = mapped_column(default=1, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def table_of(model: type[Base]) -> Table:
    """The `Table` a model is mapped to (typed, unlike `Model.__table__`)."""
    return cast(Table, model.__table__)


def sort_indexes(table: str, *columns: str) -> list[Index]:
    """B-tree indexes on `(column, id)`: what a keyset list page sorted by `column` reads.

    The list always breaks ties by primary key (see `admin_app/admin/keyset.py`), so
    an index on the column alone would still need a sort; `(column, id)` is read in
    order, forwards for ascending pages and backwards for descending ones.
    """
    return [Index(f"ix_{table}_{column}_id", column, "id") for column in columns]


def trigram_index(table: str, column: str) -> Index:
    """A PostgreSQL pg_trgm GIN index that serves `column ILIKE '%term%'` (the list search).

    PostgreSQL only: it is skipped when creating tables on SQLite (`ddl_if`), the
    migrations create it only on PostgreSQL, and `admin_app.migrations.include_object`
    hides it from the SQLite drift check.
    """
    index = Index(
        f"ix_{table}_{column}_trgm",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
    )
    return index.ddl_if(dialect="postgresql")


def postgresql_only(index: Index) -> bool:
    """True for indexes that exist only on PostgreSQL, such as `trigram_index`."""
    return bool(index.dialect_options["postgresql"].get("using"))


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_before_savepoint(connection: Connection, _name: str) -> None:
    """Open the transaction before a SAVEPOINT, as the driver does before INSERT.

    Python's sqlite3 driver starts a transaction only before INSERT/UPDATE/DELETE, so
    a SAVEPOINT (every admin create, edit and delete runs in one) could be the
    transaction's first statement: SQLite then opens the transaction with it, and
    RELEASE SAVEPOINT commits. A failure after the save left the row written under a
    500. Reads still run outside a transaction until the first write, as before, so
    a request's reads hold no snapshot that a later write would find stale.
    """
    aiosqlite_connection: Any = connection.connection.driver_connection
    if not aiosqlite_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """Build the async engine for `settings`; it connects lazily, on first use.

    Statement parameters are never rendered into errors (`hide_parameters`): an
    error about an `UPDATE admin_user SET password_hash=...` must not log the hash.
    """
    url = settings.db_url
    if url.get_backend_name() == "sqlite":
        if url.database:
            _ensure_parent(url.database)
        engine = _create_async_engine(
            url,
            connect_args={"timeout": settings.db_connect_timeout},
            hide_parameters=True,
            **kwargs,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "savepoint", _sqlite_begin_before_savepoint)
        return engine
    options: dict[str, Any] = {
        "pool_size": settings.db_pool_size,
        # The app's driver pool (`open_driver_pool`) holds as many again; nothing more
        # opens under load, so a process never holds more than twice `DB_POOL_SIZE`.
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout,
        # Not `pool_pre_ping`: see `_ping_if_idle`.
        # Bound values (password hashes, tokens) stay out of error messages and logs.
        "hide_parameters": True,
        "connect_args": _connect_args(settings),
    }
    options.update(kwargs)
    engine = _create_async_engine(url, **options)
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _connect_args(settings: Settings) -> dict[str, Any]:
    """What every PostgreSQL connection is opened with, by SQLAlchemy or the driver pool."""
    return {
        "timeout": settings.db_connect_timeout,
        "command_timeout": 60,
        "server_settings": {"application_name": "admin-app", "timezone": "UTC"},
    }


PING_AFTER_IDLE = 1.0
"""Seconds a pooled connection may sit unused and still be handed out without a ping."""


def _note_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """`pool_pre_ping`, for connections idle longer than `PING_AFTER_IDLE` only.

    A ping is three round trips (BEGIN, an empty query, ROLLBACK): under load, a third
    of a list page's database work. A connection given back a moment ago is alive
    unless the server went away in that moment; then its first query fails (a 503,
    as for any request during an outage) and the pool replaces every connection it
    holds. One idle for longer, or found dead here, is replaced before use (the
    pool retries the checkout on `DisconnectionError`). A new connection has no
    `idle_since` (a reconnect clears `record.info`) and needs no ping.
    """
    idle_since = record.info.pop("idle_since", None)
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
        return
    try:
        dbapi_connection.ping()
    except Exception as error:
        raise DisconnectionError(str(error)) from error


def _ensure_parent(database: str) -> None:
    if database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so templates can still read them.

    What they flush reaches the audit log once the entry point has called
    `admin_app.audit.recorder.start_recording()` (the app's lifespan, the CLI).
    """
    return async_sessionmaker(engine, expire_on_commit=False)


class DriverQuery:
    """A Core SELECT that runs straight on asyncpg when the session is on PostgreSQL.

    Through SQLAlchemy a one-row query costs about 350 us of CPU where asyncpg alone
    costs under 100 (result processing, events, the statement cache key): the login
    check runs one on every admin request. The statement is compiled once per dialect;
    values come back as asyncpg returns them, so select only columns whose types need
    no processing (text, numbers, booleans, `timestamptz`, which asyncpg returns aware).
    On other drivers it runs through the session, with the same answers.

    Run before the session's first ORM query, it also starts no transaction (asyncpg
    is in autocommit until SQLAlchemy sends BEGIN), so a request that only reads never
    pays for one here. A query that fails on the driver runs again through SQLAlchemy,
    so a lost connection is handled, and reported, as it is everywhere else.
    """

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._compiled: tuple[str, tuple[str, ...]] | None = None

    async def first(self, db: AsyncSession, **params: Any) -> Sequence[Any] | None:
        """The first row for `params`, or None."""
        rows = await self.all(db, **params)
        return rows[0] if rows else None

    async def all(self, db: AsyncSession, **params: Any) -> Sequence[Sequence[Any]]:
        """Every row for `params`."""
        dialect = db.get_bind().dialect
        if dialect.driver == "asyncpg":
            sql, names = self._sql(dialect)
            rows = await fetch_on_driver(db, sql, [params[name] for name in names])
            if rows is not None:
                return rows
        found: Sequence[Sequence[Any]] = (await db.execute(self.statement, params)).all()
        return found

    def _sql(self, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)
            self._compiled = compiled.string, tuple(compiled.positiontup or ())
        return self._compiled


_CONNECTION = "admin_app.db.connection"


async def session_connection(db: AsyncSession) -> AsyncConnection:
    """`db.connection()`, remembered while that connection stays open and valid.

    Asking SQLAlchemy again switches greenlets; a list page asks twice (the login check
    and the rows). The session gives its connection back when its transaction ends,
    which closes it: then SQLAlchemy is asked again."""
    held: AsyncConnection | None = db.info.get(_CONNECTION)
    if held is not None and _checked_out(held) is not None:
        return held
    conn = await db.connection()
    db.info[_CONNECTION] = conn
    return conn


async def fetch_on_driver(db: AsyncSession, sql: str, args: Sequence[Any]) -> list[Any] | None:
    """The rows of `sql` (in asyncpg's `$n` style) run straight on asyncpg; None when it
    fails there.

    A session that has not begun a transaction takes a connection of the driver pool
    (`open_driver_pool`), if its engine has one; a session that has begun (it may hold
    this request's uncommitted writes) runs `sql` on its own connection.

    On failure the caller runs the statement through SQLAlchemy, which knows what each
    failure means: a lost server makes it replace every pooled connection, and its
    errors are the ones the error pages read. A SELECT can safely run again."""
    bind = db.get_bind()
    pool = None
    if isinstance(bind, Engine) and not db.in_transaction():
        pool = _DRIVER_POOLS.get(bind.pool)
    try:
        if pool is not None:
            return await pool.fetch(sql, args)
        driver = await _driver_of(await session_connection(db))
        rows: list[Any] = await driver.fetch(sql, *args)
    except Exception as error:
        log.debug("driver query failed (%s); running it through SQLAlchemy", error)
        if pool is not None and lost_connection(error):
            pool.expire()  # the others are likely gone too
        return None
    return rows


async def _driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`. SQLAlchemy's own lookup switches greenlets
    (it may have to reconnect); while `conn` is open and valid the connection it holds
    is read directly: a list page asks twice."""
    sync = _checked_out(conn)
    if sync is not None:
        held = sync.connection  # checked out, not invalidated: no I/O to read it
        if held.dbapi_connection is not None:
            return held.driver_connection
    return (await conn.get_raw_connection()).driver_connection


def _checked_out(conn: AsyncConnection) -> Connection | None:
    """`conn`'s connection while it still holds a valid pooled one, else None."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    return sync


_DRIVER_POOLS: dict[Pool, DriverPool] = {}
"""Each engine's driver pool, by the engine's SQLAlchemy pool (which the engine's
option copies, such as the autocommit one, share)."""


def open_driver_pool(engine: AsyncEngine, settings: Settings) -> None:
    """Give `engine` a `DriverPool` for the driver queries of sessions that have not
    begun (PostgreSQL): a request that only reads (the login check, a list page's rows
    and permissions) then never checks a connection out of SQLAlchemy, which costs
    about 0.25 ms of CPU under load. Holds up to `DB_POOL_SIZE` connections, opened
    when first needed."""
    if engine.dialect.driver != "asyncpg":
        return
    _, options = engine.dialect.create_connect_args(engine.url)
    options.update(_connect_args(settings))

    async def connect() -> asyncpg.Connection:
        return await asyncpg.connect(**options)

    pool = DriverPool(connect, settings.db_pool_size, settings.db_pool_timeout)
    _DRIVER_POOLS[engine.sync_engine.pool] = pool


async def close_driver_pool(engine: AsyncEngine) -> None:
    """Close `engine`'s driver pool, if it has one."""
    pool = _DRIVER_POOLS.pop(engine.sync_engine.pool, None)
    if pool is not None:
        await pool.close()
