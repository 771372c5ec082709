"""`admin-app rotate-secrets`: everything encrypted (two-factor and webhook secrets), under
the current `SECRET_KEY`.

Run it after moving the old key to `SECRET_KEY_FALLBACKS` (and after upgrading to
migration 0007, which leaves older plain-text two-factor secrets as they are); once it
reports nothing left under an old key, the fallback can go. See docs/deploy.md.
"""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.auth.totp import Resealed, reseal_all
from admin_app.cli.common import require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.settings import load_settings
from admin_app.webhooks import keys as webhook_keys


def summary(done: Resealed) -> str:
    """One line saying what was done, and what is left to do."""
    line = (
        f"rotate-secrets: two-factor secrets: {done.rotated + done.plain} re-encrypted "
        f"with the current key ({done.plain} were plain text), {done.current} already current"
    )
    advice = (
        "add the key they were stored under to SECRET_KEY_FALLBACKS and run this again, "
        "or reset those accounts' two-factor login"
    )
    return line + _unreadable("; ", done.unreadable, "account", advice)


def webhook_summary(done: webhook_keys.Resealed) -> str:
    """The webhook endpoints' part of the line."""
    line = (
        f"; webhook secrets: {done.rotated} re-encrypted with the current key, "
        f"{done.current} already current"
    )
    return line + _unreadable(
        ", ", done.unreadable, "endpoint", "give those endpoints a new secret"
    )


def _unreadable(separator: str, ids: list[int], noun: str, advice: str) -> str:
    """The part of the line naming the records under no configured key (the first 20)."""
    if not ids:
        return ""
    named = ", ".join(str(record_id) for record_id in ids[:20])
    return f"{separator}{len(ids)} under no configured key ({noun} ids {named}): {advice}"


@click.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-encrypt every stored secret with the current SECRET_KEY. Safe to run again."""

    settings = load_settings()

    async def work(engine: AsyncEngine) -> tuple[Resealed, webhook_keys.Resealed]:
        await require_migrated(engine)
        async with create_sessionmaker(engine).begin() as session:
            totp = await reseal_all(session, settings)
            return totp, await webhook_keys.reseal_all(session, settings)

    totp, webhooks = run_with_engine(settings, work)
    click.echo(summary(totp) + webhook_summary(webhooks))
