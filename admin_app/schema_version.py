"""Where the database's schema stands against this code's migrations, without Alembic.

The web process asks this for its readiness probe and `admin-app check`. Alembic itself
(with Mako and Pygments, which it imports) is a tenth of the web process's memory and is
needed only to migrate, which the `admin-app db` commands do (`admin_app.migrations`).
The revisions are read from the migration scripts' `revision` and `down_revision`
assignments; `tests/test_migrations.py` checks the answer against Alembic's own.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from admin_app.settings import PROJECT_ROOT

VERSIONS = PROJECT_ROOT / "alembic" / "versions"
"""The migration scripts (`script_location` in alembic.ini, plus `versions`)."""

SchemaState = Literal["current", "empty", "behind", "ahead"]


_READ = ("revision", "down_revision")


@cache
def _graph() -> dict[str, frozenset[str]]:
    """Each revision of the scripts on disk, with the revisions it follows."""
    graph: dict[str, frozenset[str]] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        values: dict[str, Any] = {}
        for node in ast.parse(path.read_text()).body:
            targets: list[ast.expr] = []
            value: ast.expr | None = None
            if isinstance(node, ast.AnnAssign):
                targets, value = [node.target], node.value
            elif isinstance(node, ast.Assign):
                targets, value = node.targets, node.value
            for target in targets:
                if isinstance(target, ast.Name) and target.id in _READ and value is not None:
                    values[target.id] = ast.literal_eval(value)
        if "revision" in values:
            down = values.get("down_revision") or ()
            graph[values["revision"]] = frozenset((down,) if isinstance(down, str) else down)
    return graph


def head_revisions() -> frozenset[str]:
    """The head revision(s) of the migration scripts on disk."""
    graph = _graph()
    followed = frozenset().union(*graph.values())
    return frozenset(graph) - followed


def known_revisions() -> frozenset[str]:
    """Every revision of the migration scripts on disk."""
    return frozenset(_graph())


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
