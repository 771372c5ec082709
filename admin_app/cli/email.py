"""`admin-app worker` and `admin-app email ...`: deliver queued email, preview and test it."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from admin_app.cli.common import CommandError, require_migrated, run_with_engine
from admin_app.db import create_sessionmaker
from admin_app.email.delivery import Mailer
from admin_app.email.outbox import APP_NAME, enqueue
from admin_app.email.rendering import UnknownEmailError, kinds, render
from admin_app.email.samples import SAMPLES
from admin_app.email.worker import Worker
from admin_app.models import OutboxMessage, OutboxStatus
from admin_app.settings import load_settings
from admin_app.trash.purge import purge_older_than, run_purges
from admin_app.webhooks.dispatcher import Dispatcher


def _log_to_stderr() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit (for cron).")
def worker(once: bool) -> None:
    """Deliver queued email and webhooks (retries with backoff, dead after the last
    attempt), and purge the trash of records older than TRASH_RETENTION_DAYS.

    Runs until SIGTERM or Ctrl-C; the message or webhook being sent is finished, the
    rest of the batch is handed back. Set EMAIL_WORKER=false on the web processes when
    this runs.
    """
    settings = load_settings()
    _log_to_stderr()

    async def work(engine: AsyncEngine) -> tuple[int, int]:
        await require_migrated(engine)
        sessions = create_sessionmaker(engine)
        mailer = Mailer(settings, sessions)
        webhooks = Dispatcher(settings, sessions)
        if once:
            try:
                await purge_older_than(sessions, timedelta(days=settings.trash_retention_days))
                return await Worker(mailer).run_until_idle(), await webhooks.run_until_idle()
            finally:
                await webhooks.aclose()
        stop = asyncio.Event()

        def request_stop() -> None:
            mailer.stopping = webhooks.stopping = True
            stop.set()

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, request_stop)
        click.echo(f"admin-app worker: sending through {mailer.transport.description}", err=True)
        await asyncio.gather(
            Worker(mailer).run(stop),
            webhooks.run(stop),
            run_purges(sessions, settings.trash_retention_days, stop),
        )
        return 0, 0

    handled, posted = run_with_engine(settings, work)
    if once:
        click.echo(f"worker: {handled} message(s) handled, {posted} webhook(s) handled")


@click.group()
def email() -> None:
    """Preview the email templates and check the mail settings."""


@email.command()
@click.argument("name", required=False)
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text.")
def preview(name: str | None, as_html: bool) -> None:
    """Render email NAME with example data; without NAME, list the emails."""
    if name is None:
        click.echo("\n".join(kinds()))
        return
    try:
        rendered = render(name, {"app_name": APP_NAME, **SAMPLES.get(name, {})})
    except UnknownEmailError as error:
        raise CommandError(str(error)) from None
    if as_html:
        click.echo(rendered.html, nl=False)
        return
    click.echo(f"Subject: {rendered.subject}\n\n{rendered.text}", nl=False)


@email.command("send-test")
@click.argument("to")
def send_test(to: str) -> None:
    """Queue a test message to TO and try to deliver it now, through the outbox."""
    settings = load_settings()
    if "@" not in to:
        raise CommandError(f"{to!r} is not an email address")
    # The outcome is reported in one line below; the delivery log would repeat it.
    logging.getLogger("admin_app.email").addHandler(logging.NullHandler())

    async def work(engine: AsyncEngine) -> OutboxMessage | None:
        await require_migrated(engine)
        sessions = create_sessionmaker(engine)
        async with sessions.begin() as db:
            row = await enqueue(db, settings, to=to, kind="test", context={})
        await Mailer(settings, sessions).deliver_batch([row.id])
        async with sessions() as db:
            return await db.get(OutboxMessage, row.id)

    row = run_with_engine(settings, work)
    if row is None or row.status is OutboxStatus.SENT:
        click.echo(f"test message sent to {to}")
        return
    raise CommandError(
        f"the test message was not accepted ({row.last_error}); it stays in the outbox "
        f"as {row.status.value}"
    )
