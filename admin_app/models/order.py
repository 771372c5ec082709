"""Orders placed by customers."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Trashable, Versioned, sort_indexes, trigram_index, utcnow
from admin_app.models.customer import Customer

if TYPE_CHECKING:
    from admin_app.models.order_line import OrderLine


class OrderStatus(enum.StrEnum):
    """Where an order is in its life; stored as its lowercase value."""

    NEW = "new"
    PAID = "paid"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class Order(Trashable, Versioned, Base):
    """One purchase by one customer, made of order lines."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_not_negative"),
        # Keyset pages for every sort the list offers, and index-served search.
        *sort_indexes("orders", "placed_at", "status", "total"),
        trigram_index("orders", "notes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customer.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[OrderStatus] = mapped_column(
        Enum(
            OrderStatus,
            name="order_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        default=OrderStatus.NEW,
    )
    total: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"), server_default="0")
    """What was paid back to the customer (the Refund action refunds the whole total)."""
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    notes: Mapped[str] = mapped_column(Text, default="")

    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", passive_deletes=True
    )

    def __str__(self) -> str:
        return f"Order #{self.id}"
