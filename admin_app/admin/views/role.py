"""Roles: named sets of permissions, with an optional scope, assigned to admin accounts."""

from __future__ import annotations

from starlette_admin import HasMany, IntegerField, StringField, TextAreaField

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField, JSONObjectField, PermissionMatrixField
from admin_app.models import Role


class RoleView(AppModelView):
    model = Role
    key = "role"
    icon = "fa fa-id-badge"
    menu_group = "Administration"
    fields = [
        IntegerField("id", label="ID"),
        StringField("name", required=True, maxlength=60),
        TextAreaField("description", exclude_from_list=True),
        PermissionMatrixField("permission_codes", label="Permissions"),
        JSONObjectField(
            "scope",
            help_text=(
                "Limits which rows the role reaches, where a view supports it. "
                'Orders: {"countries": ["FR"]} shows only orders of customers in France.'
            ),
        ),
        HasMany("users", key="admin-user", label="Members"),
        AwareDateTimeField("created_at", read_only=True, exclude_from_create=True),
    ]
    unique_fields = ("name",)
    searchable_fields = ["name"]
    sortable_fields = ["id", "name", "created_at"]
    fields_default_sort = ["name"]
