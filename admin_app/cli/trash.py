"""`admin-app purge-trash`: delete for good what has been in the trash too long."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.cli.common import require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.settings import load_settings
from admin_app.trash.purge import PURGE_BATCH, BadAge, Purged, parse_age, purge_older_than


@click.command("purge-trash")
@click.option(
    "--older-than",
    "older_than",
    default=None,
    help="Age of the trashed records to delete, such as 30d, 12h or 90m "
    "(default: TRASH_RETENTION_DAYS days).",
)
@click.option(
    "--batch-size", default=PURGE_BATCH, type=click.IntRange(1, 100_000), show_default=True
)
@click.pass_context
def purge_trash(ctx: click.Context, older_than: str | None, batch_size: int) -> None:
    """Delete for good the records trashed longer ago than --older-than, in batches."""
    settings = load_settings()
    try:
        default = f"{settings.trash_retention_days}d"
        age = parse_age(default if older_than is None else older_than)
    except BadAge as error:
        click.echo(f"error: {error}", err=True)
        ctx.exit(2)

    async def work(engine: AsyncEngine) -> Purged:
        await require_migrated(engine)
        return await purge_older_than(create_sessionmaker(engine), age, batch_size)

    click.echo(str(run_with_engine(settings, work)))
