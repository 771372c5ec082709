"""Roles: named sets of permissions, assigned to admin accounts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Versioned, utcnow

if TYPE_CHECKING:
    from admin_app.models.admin_user import AdminUser

admin_user_role = Table(
    "admin_user_role",
    Base.metadata,
    Column("user_id", ForeignKey("admin_user.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Role(Versioned, Base):
    """A named set of permissions such as `order:view`, and an optional object scope.

    `scope` narrows which rows the role reaches, for views that support it; the demo's
    order view reads `{"countries": ["FR", "DE"]}` to show only those customers' orders.
    """

    __tablename__ = "role"
    __audit_collections__ = ("permissions",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    permissions: Mapped[list[RolePermission]] = relationship(
        back_populates="role", cascade="all, delete-orphan", passive_deletes=True, lazy="selectin"
    )
    users: Mapped[list[AdminUser]] = relationship(secondary=admin_user_role, back_populates="roles")

    @property
    def permission_codes(self) -> list[str]:
        """The role's permissions as codes; assigning a list adds and removes rows to match."""
        return sorted(permission.code for permission in self.permissions)

    @permission_codes.setter
    def permission_codes(self, codes: list[str]) -> None:
        wanted = set(codes)
        kept = [p for p in self.permissions if p.code in wanted]
        have = {p.code for p in kept}
        self.permissions = kept + [RolePermission(code=c) for c in sorted(wanted - have)]

    def __str__(self) -> str:
        return self.name


class RolePermission(Base):
    """One permission of one role, as a code `<view key>:<action>` (e.g. `product:edit`)."""

    __tablename__ = "role_permission"
    __audit__ = False  # logged as security events, or not a record of its own

    role_id: Mapped[int] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(120), primary_key=True)

    role: Mapped[Role] = relationship(back_populates="permissions")

    @property
    def audit_label(self) -> str:
        """How the audit log lists it inside its role's `permissions`."""
        return self.code
