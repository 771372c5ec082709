"""`admin-app check [--deploy]`: is this configuration ready to serve?

Without `--deploy`: the database answers and its schema is at the newest migration, each
read replica (`DATABASE_REPLICA_URLS`) answers, is a standby and is not too far behind,
and, with single sign-on, the provider answers and the roles its map names exist.
With `--deploy`: also every setting that is unsafe in production. Each problem is one
line on standard output; the command exits 1 if there is any, 0 otherwise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from admin_app.checks import (
    Issue,
    database_issues,
    replica_issues,
    settings_issues,
    sso_issues,
)
from admin_app.db import create_engine
from admin_app.settings import Settings, load_settings


@click.command()
@click.option("--deploy", is_flag=True, help="Also check the settings for production use.")
def check(deploy: bool) -> None:
    """Report problems with the settings and the database; exit 1 if there are any."""
    settings = load_settings(generate_dev_key=False)  # report a missing key, invent none
    issues = settings_issues(settings) if deploy else []
    issues += _database_issues(settings)
    for issue in issues:
        click.echo(str(issue))
    if issues:
        what = "unsafe or broken setting(s) for production" if deploy else "problem(s)"
        click.echo(f"error: {len(issues)} {what}", err=True)
        raise SystemExit(1)
    click.echo("check: no issues found" + (" for production" if deploy else ""))


def _database_issues(settings: Settings) -> list[Issue]:
    url = settings.db_url
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would create an empty file: report it instead of leaving one behind.
        return [Issue("DATABASE_URL", f"{url.database} does not exist; run: admin-app db upgrade")]
    return asyncio.run(_connect_and_check(settings))


async def _connect_and_check(settings: Settings) -> list[Issue]:
    engine = create_engine(settings)
    try:
        issues = await database_issues(engine) + await sso_issues(settings, engine)
    finally:
        await engine.dispose()
    for url in settings.replica_urls:
        replica = create_engine(settings, url=url)
        try:
            issues += await replica_issues(replica, settings.replica_max_lag)
        finally:
            await replica.dispose()
    return issues
