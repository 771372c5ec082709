"""`admin-app api-token`: make a personal API token for an account, from the shell.

For scripts and first set-ups; people make theirs on My account. Prints only the token,
so that `TOKEN=$(admin-app api-token --email ...)` works.
"""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.audit.events import record_event
from admin_app.auth.api_tokens import MAX_DAYS, TokenRequestError, create_token
from admin_app.auth.users import get_user_by_email
from admin_app.cli.common import CommandError, require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.settings import load_settings


@click.command("api-token")
@click.option("--email", required=True, help="Whose token: it acts as this account.")
@click.option("--name", required=True, help="What the token is for, shown on My account.")
@click.option("--days", default=90, show_default=True, help=f"Lifetime, 1 to {MAX_DAYS} days.")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    help="Limit the token to this permission (repeat for several), e.g. product:view.",
)
def api_token(email: str, name: str, days: int, permissions: tuple[str, ...]) -> None:
    """Make an API token for an account and print it (it is shown only now)."""

    async def work(engine: AsyncEngine) -> str:
        await require_migrated(engine)
        async with create_sessionmaker(engine).begin() as session:
            user = await get_user_by_email(session, email)
            if user is None or not user.is_active:
                raise CommandError(f"no active account has the email {email!r}")
            try:
                made = await create_token(
                    session, user, name=name, days=days, permissions=list(permissions) or None
                )
            except TokenRequestError as error:
                raise CommandError(str(error)) from None
            await record_event(
                session,
                "api_token_created",
                user=user,
                note=str(made.record),
                token_id=made.record.id,
            )
            return made.secret

    click.echo(run_with_engine(load_settings(), work))
