"""The admin's home page: a count per model, and orders per day over the last 30 days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, cast, func, select
from starlette.requests import Request
from starlette_admin import CustomView
from starlette_admin.widgets import (
    BaseWidget,
    Breakpoints,
    ChartWidget,
    ColumnWidget,
    GridWidget,
    StatWidget,
)

from admin_app.admin.base import AppModelView
from admin_app.admin.counting import count_table
from admin_app.db import utcnow
from admin_app.models import Order
from admin_app.state import get_session

DAYS = 30


class DashboardView(CustomView):
    """Counts for every model the user may see, then the 30-day order chart."""

    def __init__(self, views: Sequence[AppModelView]) -> None:
        super().__init__(menu_label="Dashboard", icon="fa fa-gauge", path="/", add_to_menu=True)
        self.model_views = views
        self.widget = self.build

    async def build(self, request: Request) -> BaseWidget:
        stats: list[BaseWidget] = [
            self._stat(request, view) for view in self.model_views if view.is_accessible(request)
        ]
        chart = ChartWidget(
            title=f"Orders per day, last {DAYS} days",
            chart_type="bar",
            series_callback=_orders_series,
            options={
                "chart": {"animations": {"enabled": False}, "toolbar": {"show": False}},
                "xaxis": {"categories": [d.isoformat() for d in _days()]},
            },
        )
        # Up to six counts a row, wrapping: one row of them all squeezed words mid-way.
        counts = GridWidget(children=stats, breakpoints=Breakpoints(default=2, md=3, lg=4, xl=6))
        return ColumnWidget(children=[counts, chart])

    @staticmethod
    def _stat(request: Request, view: AppModelView) -> StatWidget:
        async def value(request: Request) -> str:
            return str(await count_table(get_session(request), view.model))

        link = str(request.url_for("admin:list", key=view.key))
        return StatWidget(title=view.menu_label, value_callback=value, link=link)


def _days() -> list[date]:
    today = utcnow().date()
    return [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]


async def _orders_series(request: Request) -> list[dict[str, Any]]:
    days = _days()
    since = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=DAYS - 1)
    day = cast(Order.placed_at, Date) if _is_postgres(request) else func.date(Order.placed_at)
    stmt = select(day, func.count()).where(Order.placed_at >= since).group_by(day)
    counts = {str(row[0]): int(row[1]) for row in await get_session(request).execute(stmt)}
    return [{"name": "Orders", "data": [counts.get(d.isoformat(), 0) for d in days]}]


def _is_postgres(request: Request) -> bool:
    return get_session(request).get_bind().dialect.name == "postgresql"
