"""The emails the app sends on its own: security notices and the order-shipped notification.

Each function queues its message in the given session (so it shares the fate of
the change that caused it) and returns the row; callers with a request pass it to
`deliver_after_commit` to have it sent as soon as the change is committed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from admin_app.db import utcnow
from admin_app.email.delivery import deliver_after_commit
from admin_app.email.links import link
from admin_app.email.outbox import enqueue
from admin_app.models import (
    AdminSession,
    AdminUser,
    Customer,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
)
from admin_app.settings import Settings
from admin_app.state import get_session, get_settings


def _when() -> str:
    return utcnow().strftime("%Y-%m-%d %H:%M UTC")


async def password_changed(
    db: AsyncSession, settings: Settings, user: AdminUser, request: Request | None = None
) -> OutboxMessage:
    """Tell the account's owner that its password was changed."""
    return await enqueue(
        db,
        settings,
        to=user.email,
        kind="password_changed",
        context={
            "name": user.display_name,
            "email": user.email,
            "when": _when(),
            "reset_link": link(settings, request, "password-reset"),
        },
    )


async def _is_new_ip(db: AsyncSession, user: AdminUser, ip: str) -> bool:
    """True when the account has logged in before, but never from `ip` (this login aside)."""
    by_ip = func.count().filter(AdminSession.ip == ip[:45])
    row = (
        await db.execute(select(func.count(), by_ip).where(AdminSession.user_id == user.id))
    ).one()
    total, from_ip = int(row[0]), int(row[1])
    return total > 1 and from_ip <= 1


async def notify_login_from_new_ip(request: Request, user: AdminUser) -> None:
    """After a successful login: email the owner if it comes from an address not seen before."""
    db = get_session(request)
    ip = request.client.host if request.client else ""  # as corrected for trusted proxies
    if not ip or not await _is_new_ip(db, user, ip):
        return
    settings = get_settings(request)
    row = await enqueue(
        db,
        settings,
        to=user.email,
        kind="new_login",
        context={
            "name": user.display_name,
            "email": user.email,
            "when": _when(),
            "ip": ip,
            "user_agent": request.headers.get("user-agent", "unknown")[:200],
            "reset_link": link(settings, request, "password-reset"),
        },
    )
    deliver_after_commit(request, row)


async def order_shipped(db: AsyncSession, settings: Settings, order: Order) -> OutboxMessage | None:
    """Email the customer that `order` is on its way (None if the customer has no address)."""
    customer = await db.get(Customer, order.customer_id)
    if customer is None or "@" not in customer.email:
        return None
    lines = await db.execute(
        select(OrderLine.quantity, Product.name)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.id)
    )
    return await enqueue(
        db,
        settings,
        to=customer.email,
        kind="order_shipped",
        context={
            "name": customer.full_name,
            "order_id": order.id,
            "placed_on": order.placed_at.date().isoformat(),
            "lines": [{"quantity": q, "product": name} for q, name in lines],
            "total": f"{order.total:.2f}",
        },
    )
