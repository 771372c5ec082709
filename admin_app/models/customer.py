"""Customers of the store."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Trashable, Versioned, sort_indexes, trigram_index, utcnow

if TYPE_CHECKING:
    from admin_app.models.order import Order


class Customer(Trashable, Versioned, Base):
    """A buyer. Email addresses are unique regardless of letter case, among the customers
    not in the trash."""

    __tablename__ = "customer"
    __table_args__ = (
        # Keyset pages for every sort the list offers, and index-served search.
        *sort_indexes(
            "customer", "first_name", "last_name", "email", "city", "country", "created_at"
        ),
        *(trigram_index("customer", c) for c in ("first_name", "last_name", "email", "city")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(32), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str | None] = mapped_column(String(2))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    orders: Mapped[list[Order]] = relationship(back_populates="customer")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"


Trashable.unique_while_live("customer", "uq_customer_email_lower", func.lower(Customer.email))
