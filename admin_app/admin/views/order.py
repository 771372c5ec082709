"""Orders, with their lines edited inline. Marking an order shipped emails its customer."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, inspect, select
from starlette.requests import Request
from starlette_admin import EnumField, HasOne, IntegerField, TextAreaField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.admin import approvals
from admin_app.admin.base import AppInlineView, AppModelView
from admin_app.admin.fields import AwareDateTimeField, MoneyField
from admin_app.auth.permissions import Grants, scope_values
from admin_app.email.delivery import deliver_after_commit
from admin_app.email.notices import order_shipped
from admin_app.models import Customer, Order, OrderLine, OrderStatus, Product
from admin_app.state import get_session, get_settings

CENT = Decimal("0.01")
STATUS_CHOICES = [(status.value, status.value.capitalize()) for status in OrderStatus]


PRODUCTS_OFFERED = 2000
"""Products the lines editor lists (by name); a line keeps its own product either way."""


class OrderLineInline(AppInlineView):
    """An order's lines, edited in the order form: add, remove, move, change product and
    quantity; the line totals and the order total follow as you type."""

    model = OrderLine  # type: ignore[misc]  # starlette-admin declares it a ClassVar here
    rows_title = "Lines"
    row_noun = "Line"
    row_total_of = ("quantity", "unit_price")
    total_label = "Order total"
    hint_field = "unit_price"
    fields = [
        IntegerField("id", label="ID", read_only=True),
        HasOne("product", key="product", required=True),
        IntegerField("quantity", required=True, min=1),
        MoneyField("unit_price", required=True, min=0, step="0.01"),
        IntegerField("position", label="Place", exclude_from_detail=True),
    ]

    async def form_options(self, request: Request) -> dict[str, list[tuple[str, str, str]]]:
        """The products a line can name, each with its price (a new line starts with it)."""
        stmt = select(Product.id, Product.name, Product.sku, Product.price)
        stmt = stmt.order_by(Product.name, Product.id).limit(PRODUCTS_OFFERED)
        rows = await get_session(request).execute(stmt)
        return {
            "product": [(str(pk), f"{name} ({sku})", str(price)) for pk, name, sku, price in rows]
        }


class OrderView(AppModelView):
    model = Order
    key = "order"
    icon = "fa fa-receipt"
    menu_group = "Sales"
    fields = [
        IntegerField("id", label="ID"),
        HasOne("customer", key="customer", required=True),
        EnumField("status", choices=STATUS_CHOICES, required=True),
        MoneyField(
            "total",
            required=True,
            min=0,
            step="0.01",
            exclude_from_create=True,
            exclude_from_edit=True,
            help_text="The sum of the lines, worked out when the order is saved.",
        ),
        MoneyField(
            "refunded_amount",
            label="Refunded",
            read_only=True,
            exclude_from_create=True,
            exclude_from_list=True,
        ),
        AwareDateTimeField("placed_at", required=True),
        TextAreaField("notes", exclude_from_list=True),
    ]
    inlines = [OrderLineInline]
    row_actions = ["view", "edit", "delete", "refund"]
    proposable_actions = ("refund",)

    def scope_query(
        self, request: Request | None, stmt: Select[Any], grants_: Grants
    ) -> Select[Any]:
        """Object-level permission, the demo's worked example: a role whose scope lists
        countries (`{"countries": ["FR"]}`) sees only orders of customers in them."""
        scopes = grants_.scope(str(self.key))
        if scopes is None:
            return stmt
        return stmt.where(Order.customer_id.in_(customers_within(scopes)))

    searchable_fields = ["notes", "status", "total", "placed_at", "customer"]
    sortable_fields = ["id", "status", "total", "placed_at"]
    relation_filters = ("customer.country", "customer.email")
    fields_default_sort = [("placed_at", True)]

    async def after_children_saved(self, request: Request, parent: Any) -> None:
        """The total is the sum of the lines."""
        session = get_session(request)
        await session.flush()
        subtotal = OrderLine.quantity * OrderLine.unit_price
        summed = await session.scalar(
            select(func.coalesce(func.sum(subtotal), 0)).where(OrderLine.order_id == parent.id)
        )
        total = Decimal(str(summed)).quantize(CENT)
        if parent.total != total:
            parent.total = total
            await session.flush()

    async def after_create(self, request: Request, obj: Any) -> None:
        """An order created as shipped is announced like one that becomes shipped."""
        if obj.status == OrderStatus.SHIPPED:
            await self._announce_shipped(request, obj)

    async def before_edit(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        """When the status becomes shipped, queue the email in the edit's own transaction."""
        history = inspect(obj).attrs.status.history
        if obj.status == OrderStatus.SHIPPED and history.added and not history.unchanged:
            await self._announce_shipped(request, obj)

    async def _announce_shipped(self, request: Request, order: Order) -> None:
        row = await order_shipped(get_session(request), get_settings(request), order)
        if row is not None:
            deliver_after_commit(request, row)

    @row_action(
        name="refund",
        text="Refund",
        confirmation="Refund the whole total of this order to the customer?",
        header="Refund the order",
        submit_btn_text="Refund",
        submit_btn_class="btn btn-danger",
        icon_class="fa fa-rotate-left",
        exclude_from_list=True,
    )
    async def refund_action(self, request: Request, pk: Any) -> str:
        """Refund the whole total; for a role holding `order:propose_refund` instead of
        `order:refund`, ask for it through a change request (docs/approvals.md)."""
        order = await self.find_by_pk(request, pk)
        if order is None:
            raise ActionFailed(gettext("This order does not exist, or is not yours to see."))
        if order.refunded_amount >= order.total:
            raise ActionFailed(gettext("%(order)s is already refunded.") % {"order": order})
        changes = {"refunded_amount": order.total}
        filed = await approvals.propose_action(request, self, order, "refund", changes)
        if filed is not None:
            message = gettext("The refund of %(order)s awaits approval (%(request)s).") % {
                "order": order,
                "request": filed,
            }
            flash(request, message, "warning")
            return message
        order.refunded_amount = order.total
        await get_session(request).flush()
        said = {"order": order, "total": order.total}
        flash(request, gettext("%(order)s refunded: %(total)s.") % said, "success")
        return gettext("%(order)s refunded.") % said


def customers_within(scopes: list[dict[str, Any]]) -> Select[Any]:
    """The ids of the customers a scope reaches: those in its countries."""
    return select(Customer.id).where(Customer.country.in_(scope_values(scopes, "countries")))


def orders_within(scopes: list[dict[str, Any]]) -> Select[Any]:
    """The ids of the orders a scope reaches: those of the customers it reaches."""
    return select(Order.id).where(Order.customer_id.in_(customers_within(scopes)))
