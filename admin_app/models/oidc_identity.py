"""Which OpenID Connect identity (issuer and subject) signs in as which account."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class OidcIdentity(Base):
    """A provider's account linked to an admin account.

    Matched by `issuer` and `subject` (the ID token's `iss` and `sub`), which the provider
    never reuses, so a changed email address at the provider still reaches the same account.
    """

    __tablename__ = "oidc_identity"
    __audit__ = False  # sign-ins are logged as security events
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
