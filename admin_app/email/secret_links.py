"""Password-reset and invitation links in the outbox: never stored, minted when sent.

Such a link is as good as the account's password, so it must reach its recipient and
nobody else: not the outbox's readers, the audit log, exports or logs. The outbox
therefore keeps, where the link goes, a note saying so ("[password-reset link: only
the recipient sees it]"), and in `link_purpose`, `link_user_id` and `link_base` what
the link is. Just before a message is handed to SMTP, `fill` mints a fresh token
(`admin_app.auth.tokens.issue_token`) and puts the link in place of the note; the
filled message lives only in the sender's memory.

Minting at send time rather than storing an encrypted link means the database holds
nothing to steal or rotate, and a message resent from the outbox after its first
attempts died still carries a link that works for the full validity period.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from admin_app.auth.tokens import NoTokenError, Purpose, issue_token, purpose_of
from admin_app.email.links import link
from admin_app.email.outgoing import Outgoing
from admin_app.settings import Settings

_TOKEN_SLOT = "TOKEN"  # noqa: S105 (a placeholder, not a secret)
"""A stand-in token, for building the link's URL without one."""


def note(purpose: str) -> str:
    """What the stored message says in place of the link."""
    return f"[{purpose} link: only the recipient sees it]"


@dataclass(frozen=True)
class SecretLink:
    """A link to mint at send time: for which account, for what, and where the app is."""

    purpose: Purpose
    user_id: int
    base: str
    """The link without its token, ending in `/`."""

    @property
    def note(self) -> str:
        return note(self.purpose)


def secret_link(
    settings: Settings, request: Request, route: str, purpose: Purpose, user_id: int
) -> SecretLink:
    """The link to admin route `route` (whose one parameter is `token`) for `user_id`."""
    url = link(settings, request, route, token=_TOKEN_SLOT)
    assert url is not None  # a request always gives a base URL
    return SecretLink(purpose, user_id, url.removesuffix(_TOKEN_SLOT))


async def fill(db: AsyncSession, settings: Settings, message: Outgoing) -> Outgoing:
    """`message` with its link in place of the note, or `NoTokenError` saying why not."""
    if message.link_purpose is None:
        return message
    purpose = purpose_of(message.link_purpose)
    token = await issue_token(
        db, settings, user_id=message.link_user_id, purpose=purpose, recipient=message.recipient
    )
    url, placeholder = f"{message.link_base}{token}", note(purpose)
    return dataclasses.replace(
        message,
        text=message.text.replace(placeholder, url),
        html=message.html.replace(str(escape(placeholder)), str(escape(url))),
    )


async def fill_all(
    db: AsyncSession, settings: Settings, batch: list[Outgoing]
) -> tuple[list[Outgoing], list[tuple[Outgoing, str]]]:
    """The messages ready to send, and those that may not be sent with why."""
    ready: list[Outgoing] = []
    refused: list[tuple[Outgoing, str]] = []
    for message in batch:
        try:
            ready.append(await fill(db, settings, message))
        except NoTokenError as error:
            refused.append((message, str(error)))
    return ready, refused
