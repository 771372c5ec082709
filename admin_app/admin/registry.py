"""The registry: every model view in the admin, in menu order.

To put a model into the admin, write a view class in `views/<entity>.py` and add
one line here. `docs/adding-a-model.md` walks through it.
"""

from __future__ import annotations

from admin_app.admin.base import AppModelView
from admin_app.admin.views.admin_session import AdminSessionView
from admin_app.admin.views.admin_user import AdminUserView
from admin_app.admin.views.audit_entry import AuditEntryView
from admin_app.admin.views.category import CategoryView
from admin_app.admin.views.change_request import ChangeRequestView
from admin_app.admin.views.customer import CustomerView
from admin_app.admin.views.email_outbox import OutboxView
from admin_app.admin.views.order import OrderView
from admin_app.admin.views.order_line import OrderLineView
from admin_app.admin.views.product import ProductView
from admin_app.admin.views.role import RoleView
from admin_app.admin.views.tag import TagView
from admin_app.admin.views.webhook_delivery import WebhookDeliveryView
from admin_app.admin.views.webhook_endpoint import WebhookEndpointView

REGISTRY: tuple[type[AppModelView], ...] = (
    ProductView,
    CategoryView,
    TagView,
    OrderView,
    CustomerView,
    OrderLineView,
    AdminUserView,
    RoleView,
    AdminSessionView,
    AuditEntryView,
    ChangeRequestView,
    OutboxView,
    WebhookEndpointView,
    WebhookDeliveryView,
)
