"""The lines of an order: which product, how many, at what price."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Trashable, Versioned, sort_indexes
from admin_app.models.order import Order
from admin_app.models.product import Product


class OrderLine(Trashable, Versioned, Base):
    """A quantity of one product in one order, at the unit price charged."""

    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        *sort_indexes("order_line", "quantity", "unit_price"),
        # An order's lines in their place (the order form and its detail page read them so).
        Index("ix_order_line_order_position", "order_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="RESTRICT"), index=True
    )
    quantity: Mapped[int] = mapped_column(default=1)
    unit_price: Mapped[Decimal]
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    """The line's place in its order, 1 first; set by the order form."""

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def subtotal(self) -> Decimal:
        return self.unit_price * self.quantity

    def __str__(self) -> str:
        return f"{self.quantity} x product #{self.product_id}"
