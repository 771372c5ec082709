"""`admin-app createsuperuser`, `changepassword` and `demo-admin`: accounts from the shell."""

from __future__ import annotations

import secrets
import sys

import click
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.auth.passwords import PasswordPolicyError
from admin_app.auth.users import UserExistsError, create_user, get_user_by_email, set_password
from admin_app.cli.common import CommandError, require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.email.notices import password_changed
from admin_app.models import AdminUser
from admin_app.settings import load_settings

DEMO_EMAIL = "admin@example.com"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.command()
@click.option("--email", required=True, help="The administrator's email address.")
@click.option("--full-name", default="", help="Shown in the admin instead of the email.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def createsuperuser(email: str, full_name: str, password_stdin: bool) -> None:
    """Create an administrator who may do everything. Prompts for the password twice."""
    password = _read_password(password_stdin)

    async def work(engine: AsyncEngine) -> str:
        await require_migrated(engine)
        async with create_sessionmaker(engine).begin() as session:
            try:
                user = await create_user(
                    session=session,
                    email=email,
                    password=password,
                    full_name=full_name,
                    is_superuser=True,
                )
            except (PasswordPolicyError, UserExistsError, ValueError) as error:
                raise CommandError(str(error)) from None
            return user.email

    created = run_with_engine(load_settings(), work)
    click.echo(f"superuser {created} created")


@click.command()
@click.option("--email", required=True, help="Whose password to change.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def changepassword(email: str, password_stdin: bool) -> None:
    """Set a new password for an account and end all its sessions."""
    password = _read_password(password_stdin)

    async def work(engine: AsyncEngine) -> int:
        await require_migrated(engine)
        async with create_sessionmaker(engine).begin() as session:
            user = await get_user_by_email(session, email)
            if user is None:
                raise CommandError(f"no account has the email {email}")
            try:
                ended = await set_password(session=session, user=user, password=password)
            except PasswordPolicyError as error:
                raise CommandError(str(error)) from None
            await password_changed(session, settings, user)  # sent by the email worker
            return ended

    settings = load_settings()
    ended = run_with_engine(settings, work)
    click.echo(f"password changed; {ended} session(s) ended")


@click.command("demo-admin")
def demo_admin() -> None:
    """Development only: create admin@example.com with a random password, once, and print it."""
    settings = load_settings()
    if settings.environment == "production":
        raise CommandError("demo-admin is for development; use createsuperuser in production")
    password = secrets.token_urlsafe(12)

    async def work(engine: AsyncEngine) -> bool:
        await require_migrated(engine)
        async with create_sessionmaker(engine).begin() as session:
            if await session.scalar(select(exists().select_from(AdminUser))):
                return False
            await create_user(
                session=session,
                email=DEMO_EMAIL,
                password=password,
                full_name="Demo Admin",
                is_superuser=True,
            )
            return True

    if run_with_engine(settings, work):
        click.echo("")
        click.echo("  Demo administrator created. This is shown once:")
        click.echo(f"    email:    {DEMO_EMAIL}")
        click.echo(f"    password: {password}")
        click.echo("  Change it with: .venv/bin/admin-app changepassword --email " + DEMO_EMAIL)
        click.echo("")
