"""The declarative base, portable column types, and engine and sessionmaker factories.

Nothing here connects at import time: `create_engine` is called by the app's
lifespan, the CLI and the tests, each with its own settings.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVarTuple, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    FromClause,
    Index,
    MetaData,
    Numeric,
    String,
    Table,
    column,
    event,
    false,
    table,
    true,
)
from sqlalchemy.engine import URL, Connection, Dialect, Result
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeDecorator, TypeEngine

from admin_app.fair_pool import FairQueuePool
from admin_app.replicas.session import RoutingSession
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


class Trashable:
    """A record that Delete moves to the trash rather than removing (`admin_app.trash`).

    Inheriting this is the one declaration that makes a model trashable: the trash
    columns below, trash and restore in its admin view, and hiding from every query.
    A trashed row keeps its place and its keys; `deleted_at` says when it went, and
    `trash_batch` names the delete that took it, shared by the children that went with
    it, so that a restore brings back exactly that set.

    Every ORM SELECT run by an app session leaves trashed rows out (`hide_trashed`),
    wherever the entity appears: lists, search, pickers, exports, the API, counts,
    relationship loads. A query that wants them says so with
    `execution_options(include_trashed=True)` (the trash pages, restore and purge), a
    session inside `seeing_trash` (a trash page's counts, the confirmation pages).

    "Not in the trash" is written once, in `live`: the session's criterion, Core
    statements (imports), and the partial unique indexes (`unique_while_live`) use it.
    """

    deleted_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    trash_batch: Mapped[str | None] = mapped_column(String(32), default=None, index=True)

    @property
    def trashed(self) -> bool:
        return self.deleted_at is not None

    @staticmethod
    def live(target: Any) -> ColumnElement[bool]:
        """The rows of `target` not in the trash: `deleted_at IS NULL`. `target` is a
        mapped class (ORM) or a table or alias (Core); one without a trash is all live."""
        deleted_at = _deleted_at(target)
        return true() if deleted_at is None else deleted_at.is_(None)

    @staticmethod
    def in_trash(target: Any) -> ColumnElement[bool]:
        """The rows of `target` in the trash (none, for a target without one)."""
        deleted_at = _deleted_at(target)
        return false() if deleted_at is None else deleted_at.is_not(None)

    @staticmethod
    def has_trash(target: Any) -> bool:
        """Whether `target` (a mapped class, a table or an alias) has a trash column."""
        return _deleted_at(target) is not None

    @staticmethod
    def unique_while_live(table_name: str, name: str, *expressions: Any) -> Index:
        """A unique index over the rows not in the trash (`live`), so that a trashed
        record's value is free for a new one: partial, on PostgreSQL and SQLite alike.
        Example: `Trashable.unique_while_live("product", "uq_product_sku", "sku")`."""
        where = Trashable.live(table(table_name, column(DELETED_AT)))
        return Index(name, *expressions, unique=True, postgresql_where=where, sqlite_where=where)


DELETED_AT = "deleted_at"
"""The column that says a row is in the trash, and since when."""


def _deleted_at(target: Any) -> Any:
    if isinstance(target, FromClause):
        return target.c.get(DELETED_AT)
    return getattr(target, DELETED_AT, None)


INCLUDE_TRASHED = "include_trashed"
"""The execution option that lets a statement see trashed rows (see `Trashable`)."""


def hide_trashed(state: ORMExecuteState) -> None:
    """Leave trashed rows out of an ORM SELECT, unless it asks for them (`Trashable`).

    SQLAlchemy's documented recipe for soft deletes: `with_loader_criteria` adds the
    condition wherever a trashable entity appears, in subqueries and joins too. Loading
    the columns of an object already in hand (a refresh) is left alone.
    """
    if not state.is_select or state.is_column_load:
        return
    if state.execution_options.get(INCLUDE_TRASHED, False) or state.session.info.get(
        INCLUDE_TRASHED
    ):
        return
    state.statement = without_trashed(state.statement)


_NOT_TRASHED = with_loader_criteria(
    Trashable, lambda cls: Trashable.live(cls), include_aliases=True
)
"""The option itself, made once: building it (its lambda analysed) for every SELECT was
2% of a detail page's CPU."""


def without_trashed(stmt: Any) -> Any:
    """`stmt` (an ORM statement) without trashed rows, wherever it runs: what a session
    does for every SELECT, for the few that run on a bare connection (exports)."""
    return stmt.options(_NOT_TRASHED)


@contextmanager
def seeing_trash(session: AsyncSession) -> Iterator[None]:
    """Let every statement `session` runs inside the block see trashed rows: a trash
    page's rows and counts (whose subqueries no execution option reaches), the
    confirmation pages of a restore or a purge."""
    before = session.info.get(INCLUDE_TRASHED)
    session.info[INCLUDE_TRASHED] = True
    try:
        yield
    finally:
        if before is None:
            session.info.pop(INCLUDE_TRASHED, None)
        else:
            session.info[INCLUDE_TRASHED] = before


event.listen(RoutingSession, "do_orm_execute", hide_trashed)


def table_of(model: type[Base]) -> Table:
    """The `Table` a model is mapped to (typed, unlike `Model.__table__`)."""
    return cast(Table, model.__table__)


def sort_indexes(table: str, *columns: str) -> list[Index]:
    """B-tree indexes on `(column, id)`: what a keyset list page sorted by `column` reads.

    The list always breaks ties by primary key (see `admin_app/admin/lists/keyset.py`), so
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


_Row = TypeVarTuple("_Row")


async def read_plain(
    db: AsyncSession, statement: Select[*_Row], params: dict[str, Any]
) -> Result[*_Row]:
    """A Core SELECT of plain values run on the session's connection (on the primary),
    not through the ORM's execution: no compile state, no `do_orm_execute` hooks (nor
    `hide_trashed`, so only for tables without a trash), no replica routing. About
    0.2 ms of CPU less a statement than `db.execute`; for the reads every page makes
    (the login check, a record's history)."""
    connection = await db.connection()
    return await connection.execute(statement, params)


_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """`engine` (the same pool) with each statement committed as it runs: no BEGIN and
    COMMIT round trips for work that is one statement. Made once per engine."""
    derived = _AUTOCOMMIT.get(engine)
    if derived is None:
        derived = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return derived


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

    IMMEDIATE takes the write lock now, waiting up to `busy_timeout` for it. A plain
    (deferred) BEGIN would take it at the first UPDATE, after the form's reads: had
    another connection written in between, SQLite refuses the upgrade at once with
    "database is locked", without waiting.
    """
    aiosqlite_connection: Any = connection.connection.driver_connection
    if not aiosqlite_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


COMMAND_TIMEOUT = 60.0
"""Seconds a PostgreSQL statement of the app may run before the driver gives up on it."""


def create_engine(
    settings: Settings,
    *,
    direct: bool = False,
    url: URL | None = None,
    connect_timeout: float | None = None,
    command_timeout: float | None = COMMAND_TIMEOUT,
    **kwargs: Any,
) -> AsyncEngine:
    """Build the async engine for `settings`; it connects lazily, on first use.

    `direct` connects to `DATABASE_DIRECT_URL` (PostgreSQL without the pooler), for
    migrations; `url` to another server (a read replica, `admin_app.replicas`) with the
    same pool settings; everything else uses `DATABASE_URL`. `connect_timeout` shortens
    `DB_CONNECT_TIMEOUT`; `command_timeout` (seconds, None for none) bounds each
    PostgreSQL statement.

    Statement parameters are never rendered into errors (`hide_parameters`): an
    error about an `UPDATE admin_user SET password_hash=...` must not log the hash.
    """
    url = url or (settings.direct_db_url if direct else settings.db_url)
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
        "poolclass": FairQueuePool,  # waiting requests are served in order
        "pool_size": settings.db_pool_size,
        # Nothing more opens under load: a process never holds more than `DB_POOL_SIZE`.
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout,
        # Not `pool_pre_ping`: see `_ping_if_idle`.
        # Bound values (password hashes, tokens) stay out of error messages and logs.
        "hide_parameters": True,
        "connect_args": _connect_args(
            settings,
            pooled=settings.through_pooler(url),
            timeout=connect_timeout,
            command_timeout=command_timeout,
        ),
    }
    options.update(kwargs)
    engine = _create_async_engine(url, **options)
    event.listen(engine.sync_engine, "checkin", _note_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _connect_args(
    settings: Settings,
    *,
    pooled: bool,
    timeout: float | None = None,
    command_timeout: float | None = COMMAND_TIMEOUT,
) -> dict[str, Any]:
    """What every PostgreSQL connection is opened with."""
    args: dict[str, Any] = {
        "timeout": min(timeout or settings.db_connect_timeout, settings.db_connect_timeout),
        "command_timeout": command_timeout,
        "server_settings": {"application_name": "admin-app", "timezone": "UTC"},
    }
    if pooled:
        args.update(TRANSACTION_POOLER_ARGS)
    return args


TRANSACTION_POOLER_ARGS: dict[str, Any] = {"statement_cache_size": 0}
"""How to talk to PostgreSQL through a transaction-pooling PgBouncer (`DATABASE_POOLER`).

Such a pooler gives the server connection to another client after every transaction,
and, for a statement outside one (the app's read-only requests run in autocommit),
after every round trip. A named prepared statement therefore ends up on a server
connection the client no longer holds: "prepared statement ... does not exist" on
the next use, "already exists" when another process picks the same name.

With asyncpg's statement cache off, every statement is prepared unnamed, and asyncpg
parses it again in the same round trip as each execution, so it never outlives that
round trip, on whichever server connection it lands. SQLAlchemy's own statement cache
stays on: what it keeps is asyncpg's description of the statement (columns and
types), which is the same on every server connection, and it saves the round trip
that would describe it again (`tests/pgbouncer/test_statements.py` checks that a kept
statement is still parsed again, so it runs its own query).

Not `prepared_statement_name_func` with unique names, the recipe in SQLAlchemy's
asyncpg documentation: named statements would still be prepared in one round trip
and executed in the next (a 'does not exist' error for every autocommit read that
changes server connection in between), and each would stay on its server connection
until that connection closes.
"""


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
    `admin_app.audit.recorder.start_recording()` (the app's lifespan, the CLI). Each is
    a `RoutingSession`: told to (`admin_app.replicas.routing.route_reads`), it reads
    from a read replica; otherwise it is a plain session on `engine`.
    """
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=RoutingSession)
