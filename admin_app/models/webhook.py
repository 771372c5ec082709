"""Webhooks: endpoints that are told about changes, and the signed deliveries they are owed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.db import Base, utcnow


class WebhookEndpoint(Base):
    """A URL that receives a signed POST for each create, update or delete it asks for.

    `secret` holds the signing secret encrypted (`admin_app.crypto`, purpose
    `webhook-secret`); it is shown to superusers only (`admin_app.webhooks.secrets`).
    """

    __tablename__ = "webhook_endpoint"
    __audit_exclude__ = frozenset({"secret"})
    """The audit log never holds the signing secret, not even encrypted."""

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    models: Mapped[list[str]] = mapped_column(JSON, default=list)
    """The admin keys of the models it follows, e.g. `["product", "order"]`."""
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Any of `create`, `update`, `delete`."""
    secret: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deliveries: Mapped[list[WebhookDelivery]] = relationship(
        back_populates="endpoint", passive_deletes=True, lazy="raise"
    )

    def __str__(self) -> str:
        return self.description or self.url


class DeliveryStatus(enum.StrEnum):
    """Where a delivery is: waiting (or being retried), accepted, or given up."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookDelivery(Base):
    """One event owed to one endpoint, written in the same transaction as the change.

    The body is fixed when the row is written; a worker claims the row under a lease
    (`locked_until`, `locked_by`), as the email outbox does, and records each attempt.
    """

    __tablename__ = "webhook_delivery"
    __audit__ = False  # the delivery log is itself a log
    __table_args__ = (
        Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        UniqueConstraint("endpoint_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    """The event's `id` and `Webhook-Id` header: one per change, the same on every attempt,
    so receivers can drop repeats."""
    event_type: Mapped[str] = mapped_column(String(60))
    """`<model>.<event>`, e.g. `product.update`."""
    record_id: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(
            DeliveryStatus,
            name="webhook_delivery_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [member.value for member in members],
            validate_strings=True,
        ),
        default=DeliveryStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None]
    """The HTTP status of the last attempt; None when no answer came."""
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_duration_ms: Mapped[int | None]
    last_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint] = relationship(back_populates="deliveries", lazy="joined")

    def __str__(self) -> str:
        return f"{self.event_type} of #{self.record_id}, {self.status}"
