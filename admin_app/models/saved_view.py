"""Saved views of a list: a name for its filters, search, sort, columns and page size.

A view stores the list's own URL parameters only (`admin_app.admin.saved_views.state`),
never rows or a verdict on what may be seen: whoever opens it is checked afresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Versioned, utcnow

if TYPE_CHECKING:
    from admin_app.models.role import Role

saved_view_role = Table(
    "saved_view_role",
    Base.metadata,
    Column("view_id", ForeignKey("saved_view.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("role.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""The roles a view is shared with; a view shared with none is its owner's alone."""


class SavedView(Versioned, Base):
    """One named state of one model's list, private or shared with chosen roles."""

    __tablename__ = "saved_view"
    __audit_collections__ = ("roles",)
    __table_args__ = (Index("ix_saved_view_owner_model", "owner_id", "model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(60))
    """The key of the admin view whose list this is (`customer`, `order`)."""
    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("admin_user.id", ondelete="CASCADE"))
    query: Mapped[str] = mapped_column(Text, default="")
    """The list's state as a normalised query string (`q`, `filter`, `sort`, `cols`,
    `page_size`)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[Role]] = relationship(secondary=saved_view_role, lazy="selectin")

    def __str__(self) -> str:
        return self.name


class RoleDefaultView(Base):
    """The view a role's members see when they open a model's list with nothing chosen."""

    __tablename__ = "role_default_view"

    role_id: Mapped[int] = mapped_column(
        ForeignKey("role.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(60), primary_key=True)
    view_id: Mapped[int] = mapped_column(
        ForeignKey("saved_view.id", ondelete="CASCADE"), index=True
    )

    def __str__(self) -> str:
        return f"{self.model} default of role {self.role_id}"


class ListPreference(Base):
    """A user's last visible columns and page size on one model's list."""

    __tablename__ = "list_preference"
    __audit__ = False  # a remembered preference, not a record anyone edits

    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(60), primary_key=True)
    cols: Mapped[str | None] = mapped_column(Text)
    page_size: Mapped[int | None]
