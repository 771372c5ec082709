"""Alembic, driven from Python: the `admin-app db` commands and the tests call these.

The web process never imports this module; where its schema stands comes from
`admin_app.schema_version`, which reads the same scripts without Alembic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.config import Config
from sqlalchemy import Index

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
