"""Personal API tokens: a secret shown once, stored as a hash, with expiry and narrowing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base, utcnow


class ApiToken(Base):
    """One bearer token of one account.

    `permissions` is None for "everything the owner may do", or a list of permission
    codes that narrows the token further; either way the owner's grants of the moment
    bound it (`admin_app.api.tokens.token_grants`).
    """

    __tablename__ = "api_token"
    __audit__ = False  # creation and revocation are logged as security events

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    """The token's first characters, shown in lists so that a person can tell tokens apart."""
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    permissions: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
