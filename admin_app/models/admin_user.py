"""Administrator accounts: who may log in to the admin."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Versioned, utcnow
from admin_app.models.role import admin_user_role

if TYPE_CHECKING:
    from admin_app.models.role import Role


UNUSABLE_PASSWORD_PREFIX = "!"  # noqa: S105 (a marker, not a password)
"""A stored password starting with this matches no password: an invitee has none yet."""

THEMES = ("auto", "light", "dark")
"""The colour themes an account may choose: `auto` follows the operating system."""


def display_name(full_name: str, email: str) -> str:
    """How an account is named to people: its full name, else its email."""
    return full_name or email


class AdminUser(Versioned, Base):
    """A person who logs in to the admin. The password is only ever stored as an argon2id hash."""

    __tablename__ = "admin_user"
    __audit_collections__ = ("roles",)
    __table_args__ = (CheckConstraint("theme IN ('auto', 'light', 'dark')", name="theme_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    pending_email: Mapped[str | None] = mapped_column(String(254))
    """A new address waiting for its owner to confirm it (`admin_app.auth.email_change`)."""
    full_name: Mapped[str] = mapped_column(String(150), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    last_login: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    """Encrypted (`admin_app.auth.totp.seal`); plain base32 in rows from before 0007."""
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    theme: Mapped[str] = mapped_column(String(8), default="auto", server_default="auto")
    """One of `THEMES`: the admin's colours, wherever this account signs in."""
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    """The admin's language, wherever this account signs in: a code of
    `admin_app.languages.LANGUAGES` (another, from a language since removed, reads as
    English)."""

    roles: Mapped[list[Role]] = relationship(secondary=admin_user_role, back_populates="users")

    @property
    def has_2fa(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def has_password(self) -> bool:
        """False for an invitee who has not chosen a password yet."""
        return not self.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX)

    @property
    def display_name(self) -> str:
        return display_name(self.full_name, self.email)

    def __str__(self) -> str:
        return self.display_name

    def __repr__(self) -> str:  # never the hash, even in logs and tracebacks
        return f"<AdminUser id={self.id} email={self.email!r}>"


Index("uq_admin_user_email_lower", func.lower(AdminUser.email), unique=True)
