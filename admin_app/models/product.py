"""Products for sale."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Trashable, Versioned, sort_indexes, trigram_index, utcnow
from admin_app.models.category import Category
from admin_app.models.tag import Tag, product_tag


class Product(Trashable, Versioned, Base):
    """A sellable item with a SKU (unique among the products not in the trash), a price
    and a stock level."""

    __tablename__ = "product"
    __audit_collections__ = ("tags",)
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        *sort_indexes("product", "name", "price", "stock", "is_active", "created_at"),
        trigram_index("product", "name"),
        trigram_index("product", "sku"),
        Trashable.unique_while_live("product", "uq_product_sku", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64))
    price: Mapped[Decimal]
    stock: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    image: Mapped[str | None] = mapped_column(String(255))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("category.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category | None] = relationship(back_populates="products")
    tags: Mapped[list[Tag]] = relationship(secondary=product_tag, back_populates="products")

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"
