"""The `admin-app` command: serve, database migrations, demo data, imports, the email worker.

Expected failures (a bad setting, an unreachable database) print one line starting
with `error:` and exit with status 1; a traceback means a bug.
"""

from __future__ import annotations

from typing import Any

import click

from admin_app.admin.registry import REGISTRY
from admin_app.admin.webhook_topics import webhook_topics
from admin_app.audit.context import cli_actor, set_actor
from admin_app.audit.recorder import start_recording
from admin_app.cli import api_tokens, check, db, email, imports, rotate, seed, serve, trash, users
from admin_app.cli.common import CommandError
from admin_app.settings import ConfigError
from admin_app.webhooks.capture import start_capture


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        set_actor(cli_actor())  # changes made by a command are logged as "cli:<os user>"
        start_recording()
        start_capture(webhook_topics(view() for view in REGISTRY))
        try:
            return super().invoke(ctx)
        except (ConfigError, CommandError) as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Run and manage the admin panel. Settings come from the environment and `.env`."""


main.add_command(serve.serve)
main.add_command(check.check)
main.add_command(db.db)
main.add_command(seed.seed)
main.add_command(users.createsuperuser)
main.add_command(users.changepassword)
main.add_command(users.demo_admin)
main.add_command(email.worker)
main.add_command(email.email)
main.add_command(rotate.rotate_secrets)
main.add_command(imports.import_)
main.add_command(api_tokens.api_token)
main.add_command(trash.purge_trash)
