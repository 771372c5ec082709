"""Free-form product tags, and the product-tag association table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, Versioned

if TYPE_CHECKING:
    from admin_app.models.product import Product

product_tag = Table(
    "product_tag",
    Base.metadata,
    Column("product_id", ForeignKey("product.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Versioned, Base):
    """A label attached to any number of products."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)

    products: Mapped[list[Product]] = relationship(secondary=product_tag, back_populates="tags")

    def __str__(self) -> str:
        return self.name
