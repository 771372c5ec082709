"""What every CLI command shares: settings, one-line errors, a database check."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.db import create_engine
from admin_app.schema_version import current_revisions, head_revisions
from admin_app.settings import Settings

T = TypeVar("T")


class CommandError(Exception):
    """An expected failure; the CLI prints its one-line message and exits 1."""


def display_url(url: URL) -> str:
    """The URL with its password masked, safe to print."""
    return url.render_as_string(hide_password=True)


def describe(error: BaseException) -> str:
    """A one-line reason, taken from the driver's own error where there is one."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    while error.__cause__ is not None and not str(error):
        error = error.__cause__
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


async def check_connection(engine: AsyncEngine) -> None:
    """Raise `CommandError` unless the database answers a trivial query."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as error:  # every way of failing to connect gets the same line
        raise CommandError(
            f"cannot connect to database at {display_url(engine.url)}: {describe(error)}"
        ) from None


async def require_migrated(engine: AsyncEngine) -> None:
    """Raise `CommandError` unless the schema is at the migration head."""
    async with engine.connect() as connection:
        current = await current_revisions(connection)
    if current != head_revisions():
        raise CommandError(
            "the database schema is not up to date "
            f"(at {', '.join(sorted(current)) or 'nothing'}); run: admin-app db upgrade"
        )


def run_with_engine(
    settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]], *, direct: bool = False
) -> T:
    """Connect (or fail with one line), run `work(engine)`, and always dispose the engine.

    `direct`: to `DATABASE_DIRECT_URL`, where migrations go, rather than `DATABASE_URL`.
    """

    async def runner() -> T:
        engine = create_engine(settings, direct=direct)
        try:
            await check_connection(engine)
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(runner())
