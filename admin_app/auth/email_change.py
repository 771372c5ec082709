"""Changing an account's email address: it takes effect only once the new address confirms.

An address is how an account gets back in (password reset): whoever controls it
controls the account. So a new address, whoever typed it (the owner or an
administrator), waits in `pending_email`; a link goes to it, and a notice to the old
address. Following the link sets the address and ends every session of the account.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette_admin.i18n import gettext

from admin_app.auth.sessions import revoke_user_sessions
from admin_app.auth.users import normalize_email
from admin_app.email.outbox import enqueue
from admin_app.email.secret_links import secret_link
from admin_app.models import AdminUser, OutboxMessage
from admin_app.state import get_settings


class AddressTakenError(ValueError):
    """Another account has (or is about to have) this address."""


async def address_taken(db: AsyncSession, email: str, *, but: int | None = None) -> bool:
    """Whether an account other than `but` has `email`, in either letter case."""
    lowered = email.lower()
    stmt = select(AdminUser.id).where(func.lower(AdminUser.email) == lowered)
    if but is not None:
        stmt = stmt.where(AdminUser.id != but)
    return (await db.execute(stmt.limit(1))).first() is not None


async def request_change(
    db: AsyncSession, request: Request, user: AdminUser, new_email: str, by: str
) -> list[OutboxMessage]:
    """Make `new_email` the account's pending address; queue the link to it and the notice
    to the old one. Returns the queued messages (to deliver after commit)."""
    email = normalize_email(new_email)
    if await address_taken(db, email, but=user.id):
        raise AddressTakenError(gettext("Another account already uses this address."))
    settings = get_settings(request)
    user.pending_email = email
    context = {"name": user.display_name, "old": user.email, "new": email, "by": by}
    link = secret_link(settings, request, "email-change", "email-change", user.id)
    confirm = await enqueue(
        db, settings, to=email, kind="email_change_confirm", context=context, secret_link=link
    )
    notice = await enqueue(db, settings, to=user.email, kind="email_change_notice", context=context)
    return [confirm, notice]


async def confirm_change(db: AsyncSession, user: AdminUser) -> int:
    """Make the pending address the account's; end its sessions. Returns how many ended."""
    new = user.pending_email
    if not new or await address_taken(db, new, but=user.id):
        raise AddressTakenError(
            gettext("This address is no longer free; ask for the change again.")
        )
    user.email, user.pending_email = new, None
    await db.flush()
    return await revoke_user_sessions(db, user.id)
