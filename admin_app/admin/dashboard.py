"""The admin's home page: a count per model, and orders per day over the last 30 days.

Both show only what the user may see: a count for each model they may view, within
their row scope, and the chart only to those who may view orders (of their scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select
from starlette.requests import Request
from starlette_admin import CustomView
from starlette_admin.i18n import gettext
from starlette_admin.widgets import (
    BaseWidget,
    Breakpoints,
    ChartWidget,
    ColumnWidget,
    GridWidget,
    StatWidget,
    TextWidget,
)

from admin_app.admin.base import AppModelView
from admin_app.admin.labels import N_
from admin_app.admin.list_words import total_text
from admin_app.db import utcnow
from admin_app.models import Order
from admin_app.state import get_session

DAYS = 30


class DashboardView(CustomView):
    """Counts for every model the user may see, then the 30-day order chart."""

    def __init__(self, views: Sequence[AppModelView]) -> None:
        super().__init__(menu_label=N_("Dashboard"), icon="fa fa-gauge", path="/", add_to_menu=True)
        self.model_views = views
        self.widget = self.build

    async def build(self, request: Request) -> BaseWidget:
        visible = [view for view in self.model_views if view.is_accessible(request)]
        if not visible:
            return TextWidget(content=_nothing_visible(), card=True)
        stats: list[BaseWidget] = [self._stat(request, view) for view in visible]
        # Up to six counts a row, wrapping: one row of them all squeezed words mid-way.
        counts = GridWidget(children=stats, breakpoints=Breakpoints(default=2, md=3, lg=4, xl=6))
        orders = next((view for view in visible if view.model is Order), None)
        if orders is None:
            return ColumnWidget(children=[counts])
        return ColumnWidget(children=[counts, _orders_chart(orders)])

    @staticmethod
    def _stat(request: Request, view: AppModelView) -> StatWidget:
        async def value(request: Request) -> str:
            return total_text(await view.list_total(request, view.get_list_query(request)))

        link = str(request.url_for("admin:list", key=view.key))
        return StatWidget(title=view.menu_label, value_callback=value, link=link)


def _nothing_visible() -> str:
    return gettext(
        "Your account holds no permissions yet, so there is nothing to show here. "
        "Ask an administrator to give you a role."
    )


def _orders_chart(orders: AppModelView) -> ChartWidget:
    async def series(request: Request) -> list[dict[str, Any]]:
        return await _orders_series(request, orders)

    return ChartWidget(
        title=gettext("Orders per day, last %(days)s days") % {"days": DAYS},
        chart_type="bar",
        series_callback=series,
        options={
            "chart": {"animations": {"enabled": False}, "toolbar": {"show": False}},
            "xaxis": {"categories": [d.isoformat() for d in _days()]},
        },
    )


def _days() -> list[date]:
    today = utcnow().date()
    return [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]


async def _orders_series(request: Request, orders: AppModelView) -> list[dict[str, Any]]:
    """Orders per day of the user's scope (the order list's own query)."""
    days = _days()
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS - 1)
    scoped = orders.get_list_query(request).where(Order.placed_at >= since).subquery()
    placed = scoped.c.placed_at
    day = cast(placed, Date) if _is_postgres(request) else func.date(placed)
    stmt = select(day, func.count()).select_from(scoped).group_by(day)
    counts = {str(row[0]): int(row[1]) for row in await get_session(request).execute(stmt)}
    return [{"name": "Orders", "data": [counts.get(d.isoformat(), 0) for d in days]}]


def _is_postgres(request: Request) -> bool:
    return get_session(request).get_bind().dialect.name == "postgresql"
