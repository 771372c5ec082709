"""`admin-app seed`: demo data, from a handful of rows to millions."""

from __future__ import annotations

import time

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.cli.common import CommandError, require_migrated, run_with_engine
from admin_app.demo.seed import SeedPlan, has_store_data
from admin_app.demo.seed import seed as seed_store
from admin_app.settings import load_settings


@click.command()
@click.option("--customers", default=200, show_default=True, type=click.IntRange(0))
@click.option("--orders", default=1_000, show_default=True, type=click.IntRange(0))
@click.option("--force", is_flag=True, help="Delete the existing store data first.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) if data exists.")
def seed(customers: int, orders: int, force: bool, if_empty: bool) -> None:
    """Fill the store with demo categories, products, customers and orders."""
    if orders and not customers:
        raise click.UsageError("--orders needs at least one customer")
    plan = SeedPlan(customers=customers, orders=orders)
    started = time.monotonic()

    async def work(engine: AsyncEngine) -> dict[str, int] | None:
        await require_migrated(engine)
        async with engine.begin() as connection:
            if not force and await has_store_data(connection):
                if if_empty:
                    return None
                raise CommandError(
                    "the database already has store data; pass --force to delete it and seed again"
                )
            with click.progressbar(length=_expected_rows(plan), label="seeding") as bar:
                return await seed_store(
                    connection, plan, force=force, progress=lambda _t, n: bar.update(n)
                )

    counts = run_with_engine(load_settings(), work)
    if counts is None:
        click.echo("seed: the database already has data; nothing to do")
        return
    summary = ", ".join(f"{n:,} {table}" for table, n in counts.items())
    click.echo(f"seeded {summary} in {time.monotonic() - started:.1f}s")


def _expected_rows(plan: SeedPlan) -> int:
    # Orders average two lines each; the bar is an estimate, the summary is exact.
    return plan.customers + plan.orders * 3 + 200
