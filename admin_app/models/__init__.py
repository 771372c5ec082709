"""Every model, imported here so that `Base.metadata` (and Alembic) sees them all."""

from admin_app.models.admin_session import AdminSession
from admin_app.models.admin_user import AdminUser
from admin_app.models.api_token import ApiToken
from admin_app.models.audit_entry import AuditEntry
from admin_app.models.category import Category
from admin_app.models.change_request import ChangeRequest, RequestStatus
from admin_app.models.customer import Customer
from admin_app.models.email_outbox import OutboxMessage, OutboxStatus
from admin_app.models.import_job import (
    ImportChange,
    ImportJob,
    ImportMapping,
    ImportMode,
    ImportStatus,
)
from admin_app.models.login_failure import LoginFailure
from admin_app.models.oidc_identity import OidcIdentity
from admin_app.models.order import Order, OrderStatus
from admin_app.models.order_line import OrderLine
from admin_app.models.product import Product
from admin_app.models.rate_limit_counter import RateLimitCounter
from admin_app.models.recovery_code import RecoveryCode
from admin_app.models.role import Role, RolePermission, admin_user_role
from admin_app.models.saved_view import ListPreference, RoleDefaultView, SavedView, saved_view_role
from admin_app.models.tag import Tag, product_tag
from admin_app.models.webhook import DeliveryStatus, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AdminSession",
    "AdminUser",
    "ApiToken",
    "AuditEntry",
    "Category",
    "ChangeRequest",
    "Customer",
    "DeliveryStatus",
    "ImportChange",
    "ImportJob",
    "ImportMapping",
    "ImportMode",
    "ImportStatus",
    "ListPreference",
    "LoginFailure",
    "OidcIdentity",
    "Order",
    "OrderLine",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Product",
    "RateLimitCounter",
    "RecoveryCode",
    "RequestStatus",
    "Role",
    "RoleDefaultView",
    "RolePermission",
    "SavedView",
    "Tag",
    "WebhookDelivery",
    "WebhookEndpoint",
    "admin_user_role",
    "product_tag",
    "saved_view_role",
]
