"""Alembic, driven from Python: the CLI, the readiness probe and the tests call these."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, Literal

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Index, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from admin_app.db import postgresql_only
from admin_app.settings import PROJECT_ROOT, Settings
from alembic import command

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(settings: Settings, *, configure_logger: bool = False) -> Config:
    """An Alembic config bound to `settings`' database."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["settings"] = settings
    config.attributes["configure_logger"] = configure_logger
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to `revision` (blocking; call from a thread in async code)."""
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    """Revert migrations down to `revision`."""
    command.downgrade(alembic_config(settings), revision)


@cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of the migration scripts on disk."""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    return frozenset(script.get_heads())


@cache
def known_revisions() -> frozenset[str]:
    """Every revision of the migration scripts on disk."""
    script = ScriptDirectory.from_config(Config(str(ALEMBIC_INI)))
    return frozenset(revision.revision for revision in script.walk_revisions())


SchemaState = Literal["current", "empty", "behind", "ahead"]


def schema_state(current: frozenset[str]) -> SchemaState:
    """Where the database is against this code's migrations.

    `ahead` means a revision this code does not know: a newer version of the app has
    migrated the database (during a rolling deploy, old replicas see this).
    """
    if current == head_revisions():
        return "current"
    if not current:
        return "empty"
    return "ahead" if current - known_revisions() else "behind"


async def current_revisions(connection: AsyncConnection) -> frozenset[str]:
    """The revision(s) the database is at; empty when it was never migrated."""
    try:
        async with connection.begin_nested():
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except DBAPIError:
        return frozenset()
    return frozenset(row[0] for row in rows)


def include_object(dialect: str) -> Callable[[Any, str | None, str, bool, Any], bool]:
    """Alembic's `include_object` hook for `dialect`: PostgreSQL-only indexes (trigram
    search) are part of the schema on PostgreSQL only, so SQLite compares without them."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, other: Any) -> bool:
        return not (
            dialect != "postgresql"
            and type_ == "index"
            and isinstance(obj, Index)
            and postgresql_only(obj)
        )

    return include
