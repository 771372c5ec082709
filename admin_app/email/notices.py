"""The emails the app sends on its own: security notices and the order-shipped notification.

Each function queues its message in the given session (so it shares the fate of
the change that caused it) and returns the row; callers with a request pass it to
`deliver_after_commit` to have it sent as soon as the change is committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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
    ChangeRequest,
    Customer,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Role,
    RolePermission,
    admin_user_role,
)
from admin_app.settings import Settings
from admin_app.state import get_session, get_settings

Reach = Callable[[AdminUser], Awaitable[bool]]
"""Whether a record is within an account's row scope (asked of each approver)."""


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


async def approvers(
    db: AsyncSession, model: str, *, but: int | None, reaches: Reach | None = None
) -> list[AdminUser]:
    """Active accounts whose roles may approve changes to `model`, other than `but` and
    other than those the record is beyond (`reaches`: their row scope); the superusers
    when no role may."""
    holders = (
        select(admin_user_role.c.user_id)
        .join(RolePermission, RolePermission.role_id == admin_user_role.c.role_id)
        .join(Role, Role.id == RolePermission.role_id)
        .where(RolePermission.code == f"{model}:approve")
    )
    active = select(AdminUser).where(AdminUser.is_active)
    if but is not None:
        active = active.where(AdminUser.id != but)
    found = list(await db.scalars(active.where(AdminUser.id.in_(holders)).order_by(AdminUser.id)))
    if reaches is not None:
        found = [user for user in found if await reaches(user)]
    if not found:
        found = list(await db.scalars(active.where(AdminUser.is_superuser).order_by(AdminUser.id)))
    return found


def _request_context(
    settings: Settings, request: Request | None, filed: ChangeRequest
) -> dict[str, object]:
    return {
        "request_id": filed.id,
        "record": filed.record_repr,
        "proposer": filed.proposer or "someone",
        "changes": [
            {"field": name, "before": pair[0], "after": pair[1]}
            for name, pair in (filed.changes or {}).items()
        ],
        "link": _detail_link(settings, request, filed),
    }


def _detail_link(settings: Settings, request: Request | None, filed: ChangeRequest) -> str | None:
    page = link(settings, request, "detail", key="change-request")
    return f"{page}?pk={filed.id}" if page else None


async def change_proposed(
    db: AsyncSession,
    settings: Settings,
    request: Request | None,
    filed: ChangeRequest,
    reaches: Reach | None = None,
) -> list[OutboxMessage]:
    """Ask everyone who may approve `filed` (but its proposer, and those whose row scope
    leaves its record out) to decide it."""
    context = _request_context(settings, request, filed)
    return [
        await enqueue(
            db,
            settings,
            to=user.email,
            kind="change_proposed",
            context={**context, "name": user.display_name},
        )
        for user in await approvers(db, filed.model, but=filed.proposer_id, reaches=reaches)
    ]


async def change_decided(
    db: AsyncSession, settings: Settings, request: Request | None, filed: ChangeRequest
) -> list[OutboxMessage]:
    """Tell the proposer of `filed` how it was decided."""
    proposer = await db.get(AdminUser, filed.proposer_id) if filed.proposer_id else None
    if proposer is None or not proposer.is_active:
        return []
    context = {
        **_request_context(settings, request, filed),
        "name": proposer.display_name,
        "status": filed.status.value,
        "decider": filed.decider or "someone",
        "comment": filed.comment,
    }
    return [await enqueue(db, settings, to=proposer.email, kind="change_decided", context=context)]
