"""Roles: named sets of permissions, with an optional scope, assigned to admin accounts."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette_admin import HasMany, IntegerField, StringField, TextAreaField
from starlette_admin.exceptions import FormValidationError
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField, JSONObjectField, PermissionMatrixField
from admin_app.auth.permissions import Grants, grants
from admin_app.models import Role


def role_grants(codes: list[str], scope: dict[str, Any] | None) -> Grants:
    """What holding a role with these permissions and this scope grants."""
    return Grants(codes=frozenset(codes), scopes={c: (dict(scope or {}),) for c in codes})


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

    def readonly_fields(self, request: Request) -> set[str]:
        """Only a superuser may change who holds a role or widen its scope."""
        locked = super().readonly_fields(request)
        return locked if grants(request).superuser else locked | {"users", "scope"}

    async def change_refusal(self, request: Request, obj: Any) -> str | None:
        """A role may be changed only by someone holding all it grants (no escalation)."""
        if grants(request).covers(role_grants(obj.permission_codes, obj.scope)):
            return None
        return "This role holds permissions you do not hold; only a superuser may change it."

    async def validate(self, request: Request, data: dict[str, Any]) -> None:
        """Nobody grants a permission they do not hold themselves."""
        await super().validate(request, data)
        mine = grants(request)
        codes = data.get("permission_codes")
        if mine.superuser or not isinstance(codes, list):
            return
        scope = data.get("scope") if "scope" not in self.readonly_fields(request) else None
        extra = sorted(set(codes) - mine.codes)
        if extra or not mine.covers(role_grants(codes, scope)):
            held = ", ".join(extra[:5]) or gettext("a wider scope")
            said = gettext("You can only grant permissions you hold (%(held)s).")
            raise FormValidationError({"permission_codes": said % {"held": held}})

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        """Edit and delete: not on a role that grants more than the user holds."""
        if name != "view" and await self.change_refusal(request, obj):
            return False
        allowed: bool = await super().is_row_action_allowed_for_obj(request, name, obj)
        return allowed
