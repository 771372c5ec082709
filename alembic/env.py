"""Alembic environment: async engine, URL from admin_app.settings, portable batch migrations.

Callers may pass `config.attributes["settings"]` (a Settings) to migrate a database
other than the one in the environment; tests and the CLI do. Migrations connect to
`DATABASE_DIRECT_URL` (by default `DATABASE_URL`): PostgreSQL itself, not a pooler.

Autogenerate writes batch operations (`with op.batch_alter_table(...)`) whatever the
backend: PostgreSQL runs them as plain ALTERs, SQLite as a copy of the table, so a
migration generated against either database runs on both.

On SQLite, migrations run the way SQLite's documentation prescribes for rebuilding
tables: foreign keys off, everything in one transaction, `PRAGMA foreign_key_check`
before committing. With foreign keys on, dropping the old copy of a table that other
rows reference fails (or cascades), and the driver's default runs DDL outside any
transaction, so a failure would leave half a migration behind.
"""

import asyncio
import warnings
from logging.config import fileConfig
from typing import Any

from alembic.autogenerate.api import AutogenContext
from alembic.migration import MigrationContext
from alembic.operations import ops
from alembic.util.exc import CommandError
from sqlalchemy import Column, Index, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

import admin_app.models  # noqa: F401  (registers every table on Base.metadata)
from admin_app.db import Base, create_engine
from admin_app.migrations import include_object
from admin_app.settings import Settings, load_settings
from alembic import context

config = context.config

# SQLite cannot reflect the expression index on lower(customer.email), so autogenerate
# skips it there; PostgreSQL reflects and compares it, and the tests run on both.
warnings.filterwarnings("ignore", message=".*expression-based index", category=UserWarning)
warnings.filterwarnings("ignore", message=".*expression-based index")
if config.config_file_name and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Write the plain SQL type of our TypeDecorators, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        autogen_context.imports.add("import sqlalchemy as sa")
        return f"sa.{obj.impl!r}"
    return False


def _expression_indexes(table_name: str) -> list[Index]:
    table = Base.metadata.tables.get(table_name)
    indexes = [] if table is None else table.indexes
    chosen = [i for i in indexes if any(not isinstance(e, Column) for e in i.expressions)]
    return sorted(chosen, key=lambda index: str(index.name))


def add_expression_indexes(context: MigrationContext, _revision: Any, directives: Any) -> None:
    """Put the expression indexes (such as `lower(email)`) of new tables into the script.

    SQLite cannot reflect expression indexes, so autogenerate leaves them out there,
    even for a table it is creating; PostgreSQL includes them. This makes both agree.
    An expression index added to an existing table must still be written by hand.
    """
    if context.dialect.name != "sqlite" or not directives:
        return
    script = directives[0]
    upgrade, downgrade = script.upgrade_ops, script.downgrade_ops
    for position, op in reversed(list(enumerate(upgrade.ops))):
        indexes = _expression_indexes(op.table_name)
        if isinstance(op, ops.CreateTableOp) and indexes:
            creates = [ops.CreateIndexOp.from_index(index) for index in indexes]
            upgrade.ops.insert(position + 1, ops.ModifyTableOps(op.table_name, creates))
    for position, op in reversed(list(enumerate(downgrade.ops))):
        indexes = _expression_indexes(op.table_name)
        if isinstance(op, ops.DropTableOp) and indexes:
            drops = [ops.DropIndexOp.from_index(index) for index in indexes]
            downgrade.ops.insert(position, ops.ModifyTableOps(op.table_name, drops))


def _configure(connection: Connection | None, settings: Settings) -> None:
    options: dict[str, Any] = {
        "target_metadata": Base.metadata,
        "render_as_batch": True,
        "render_item": render_item,
        "process_revision_directives": add_expression_indexes,
        "compare_type": True,
        "compare_server_default": False,
        "transactional_ddl": True,
        "include_object": include_object("sqlite" if settings.is_sqlite else "postgresql"),
    }
    if connection is None:
        context.configure(url=settings.direct_db_url, literal_binds=True, **options)
    else:
        context.configure(connection=connection, **options)


def _check_foreign_keys(connection: Connection) -> None:
    """Refuse to commit a migration that leaves rows pointing at rows that do not exist."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent = broken[0][:3]
        raise CommandError(
            f"the migration would leave {len(broken)} row(s) referring to missing rows "
            f"(first: {table} row {rowid} -> {parent}); nothing was changed"
        )


def _run_sync(connection: Connection, settings: Settings) -> None:
    _configure(connection, settings)
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            _check_foreign_keys(connection)


def _sqlite_migration_connections(engine: AsyncEngine) -> None:
    """Foreign keys off and an explicit BEGIN on the migration's SQLite connections."""

    def on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # the driver would BEGIN only before DML
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
        cursor.close()

    def on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)


async def _run_async(settings: Settings) -> None:
    # Never through DATABASE_POOLER; and with no statement timeout: a migration may
    # rewrite a table of millions of rows in one statement (0018 backfills every order
    # line's place), which takes minutes, not the app's 60 s.
    engine = create_engine(settings, direct=True, command_timeout=None)
    if settings.is_sqlite:
        _sqlite_migration_connections(engine)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync, settings)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    settings = config.attributes.get("settings") or load_settings()
    connection = config.attributes.get("connection")
    if context.is_offline_mode():
        _configure(None, settings)
        with context.begin_transaction():
            context.run_migrations()
    elif connection is not None:
        _run_sync(connection, settings)
    else:
        asyncio.run(_run_async(settings))


main()
