"""Order lines on their own, for looking across orders (they are edited inside an order)."""

from typing import Any

from sqlalchemy import Select, func, select
from starlette.requests import Request
from starlette_admin import HasOne, IntegerField

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import MoneyField
from admin_app.admin.views.order import orders_within
from admin_app.auth.permissions import Grants
from admin_app.models import OrderLine
from admin_app.state import get_session


class OrderLineView(AppModelView):
    model = OrderLine
    key = "order-line"
    icon = "fa fa-list"
    menu_group = "Sales"
    fields = [
        IntegerField("id", label="ID"),
        HasOne("order", key="order", required=True),
        HasOne("product", key="product", required=True),
        IntegerField("quantity", required=True, min=1),
        MoneyField("unit_price", required=True, min=0, step="0.01"),
    ]
    sortable_fields = ["id", "quantity", "unit_price"]
    searchable_fields = ["product", "quantity", "unit_price"]
    relation_filters = ("product.sku",)
    fields_default_sort = [("id", True)]

    def scope_query(
        self, request: Request | None, stmt: Select[Any], grants_: Grants
    ) -> Select[Any]:
        """A line is within reach when its order is: a role whose scope lists countries
        sees only the lines of orders of customers in them, as it sees those orders."""
        scopes = grants_.scope(str(self.key))
        if scopes is None:
            return stmt
        return stmt.where(OrderLine.order_id.in_(orders_within(scopes)))

    async def before_create(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        """A line added on its own (here, or from its order's page) goes last in its order."""
        order = obj.order.id if obj.order is not None else obj.order_id
        session = get_session(request)
        with session.no_autoflush:  # the new line is not in the session yet
            last = await session.scalar(
                select(func.max(OrderLine.position)).where(OrderLine.order_id == order)
            )
        obj.position = (last or 0) + 1
