"""Order lines on their own, for looking across orders (they are edited inside an order)."""

from starlette_admin import HasOne, IntegerField

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import MoneyField
from admin_app.models import OrderLine


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
    searchable_fields: list[str] = []
    fields_default_sort = [("id", True)]
