"""`Outgoing`: a message claimed from the outbox, as the link filler and the sender see it.

Apart from the outbox's database side (`admin_app.email.outbox`), which makes it: the
secret-link filler, the sender and the delivery loop read it without importing that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outgoing:
    """A claimed message, detached from any session: what a sender needs."""

    id: int
    message_id: str
    recipient: str
    subject: str
    text: str
    html: str
    attempts: int
    link_purpose: str | None = None
    link_user_id: int | None = None
    link_base: str | None = None
