"""Reset and invitation links are no longer stored; two-factor secrets can be encrypted.

- `email_outbox` gets `link_purpose`, `link_user_id` and `link_base`: the sender mints
  the link when it sends (`admin_app/email/secret_links.py`). Links in messages already
  queued are taken out of their bodies, a note in their place, the account found by the
  recipient's address: a message still waiting goes out with a fresh link, and no stored
  body holds a working one any more.
- Audit entries of outbox rows lose the bodies they carried (and the links in them).
- `admin_user.totp_secret` widens for the encrypted form. Secrets stored in plain text
  keep working and are encrypted by `admin-app rotate-secrets`: a migration does not
  hold the app's keys.

Downgrading keeps the notes: messages still waiting are then marked dead.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LINK = re.compile(r"(https?://[^\s\"'<>]*?/admin/(password-reset|invitation)/)[\w.~%-]+")
outbox = sa.table(
    "email_outbox",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("recipient", sa.String),
    sa.column("status", sa.String),
    sa.column("text_body", sa.Text),
    sa.column("html_body", sa.Text),
    sa.column("last_error", sa.Text),
    sa.column("link_purpose", sa.String),
    sa.column("link_user_id", sa.Integer),
    sa.column("link_base", sa.String),
)
audit = sa.table(
    "audit_entry", sa.column("id", sa.Integer), sa.column("model"), sa.column("changes", sa.JSON)
)
users = sa.table("admin_user", sa.column("id", sa.Integer), sa.column("email", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("email_outbox") as batch:
        batch.add_column(sa.Column("link_purpose", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("link_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("link_base", sa.String(length=500), nullable=True))
    _totp_secret_length(sa.String(64), sa.String(255))
    _take_links_out_of_outbox()
    _take_bodies_out_of_audit()


def downgrade() -> None:
    op.execute(
        outbox.update()
        .where(outbox.c.link_purpose.is_not(None), outbox.c.status == "pending")
        .values(status="dead", last_error="its link was removed by a downgrade; ask again")
    )
    with op.batch_alter_table("email_outbox") as batch:
        for name in ("link_base", "link_user_id", "link_purpose"):
            batch.drop_column(name)
    _totp_secret_length(sa.String(255), sa.String(64))


def _totp_secret_length(before: sa.String, after: sa.String) -> None:
    with op.batch_alter_table("admin_user") as batch:
        batch.alter_column("totp_secret", existing_type=before, type_=after, nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite rebuilds the table, and the copy cannot carry an expression index over.
        op.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_admin_user_email_lower "
            "ON admin_user (lower(email))"
        )


def _take_links_out_of_outbox() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(outbox.c.id, outbox.c.recipient, outbox.c.text_body, outbox.c.html_body).where(
            outbox.c.kind.in_(("password_reset", "invitation"))
        )
    ).all()
    for row in rows:
        found = LINK.search(row.text_body) or LINK.search(row.html_body)
        if found is None:
            continue
        base, purpose = found.group(1), found.group(2)
        note = f"[{purpose} link: only the recipient sees it]"
        user_id = bind.execute(
            sa.select(users.c.id).where(sa.func.lower(users.c.email) == row.recipient.lower())
        ).scalar()
        bind.execute(
            outbox.update()
            .where(outbox.c.id == row.id)
            .values(
                text_body=LINK.sub(note, row.text_body),
                html_body=LINK.sub(note, row.html_body),
                link_purpose=purpose,
                link_user_id=user_id,
                link_base=base,
            )
        )


def _take_bodies_out_of_audit() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(audit.c.id, audit.c.changes).where(audit.c.model == "email_outbox")
    )
    for entry_id, changes in rows.all():
        if not isinstance(changes, dict) or not {"text_body", "html_body"} & changes.keys():
            continue
        kept = {k: v for k, v in changes.items() if k not in ("text_body", "html_body")}
        bind.execute(audit.update().where(audit.c.id == entry_id).values(changes=kept))
