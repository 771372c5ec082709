"""Single-use recovery codes for two-factor login, stored as keyed hashes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.db import Base


class RecoveryCode(Base):
    """One code a user can type instead of a TOTP code, once."""

    __tablename__ = "recovery_code"
    __audit__ = False  # logged as security events, or not a record of its own

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
