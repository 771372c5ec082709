"""The audit log screen: every change and security event, filterable, with revert."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette_admin import EnumField, IntegerField, RequestAction, StringField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.fields import BaseField
from starlette_admin.flash import flash

from admin_app.admin.base import AppModelView
from admin_app.admin.changes import ChangeReader, ChangesField
from admin_app.admin.fields import AwareDateTimeField
from admin_app.audit.events import SECURITY_ACTIONS
from admin_app.audit.revert import REVERTIBLE, RevertError, revert
from admin_app.models import AuditEntry
from admin_app.state import get_session

ACTIONS = ("create", "update", "delete", "revert", *SECURITY_ACTIONS)


class AuditEntryView(AppModelView):
    model = AuditEntry
    key = "audit-entry"
    menu_label = "Audit log"
    icon = "fa fa-clock-rotate-left"
    menu_group = "Administration"
    fields = [
        IntegerField("id", label="#"),
        AwareDateTimeField("at", label="When"),
        StringField("actor", label="Who"),
        StringField("ip", label="IP"),
        EnumField("action", choices=[(a, a.replace("_", " ")) for a in ACTIONS]),
        StringField("model"),
        StringField("object_pk", label="Record id"),
        StringField("object_repr", label="Record"),
        ChangesField("changes"),
        StringField("note", exclude_from_list=True),
    ]
    searchable_fields = ["actor", "model", "action", "object_repr", "object_pk", "at", "ip"]
    sortable_fields = ["id", "at", "actor", "action", "model"]
    fields_default_sort = [("at", True), ("id", True)]
    exporters = ["csv", "json"]
    importers: list[str] = []
    read_only = True
    targets: dict[str, AppModelView] = {}
    """Table name to the view that manages it; filled in when the admin is built."""
    reader = ChangeReader(())
    """Reads entries with the labels and names of every view; set when the admin is built."""

    async def serialize_field_value(self, value: Any, field: BaseField, request: Request) -> Any:
        """An entry's changes in the words of the record's view: field labels in lists;
        labels, named records and local times on the detail page."""
        if not isinstance(field, ChangesField) or not isinstance(value, AuditEntry):
            return await super().serialize_field_value(value, field, request)
        if request.state.action == RequestAction.LIST:
            return self.reader.labels(value)
        return (await self.reader.read(request, [value]))[0]

    async def is_row_action_allowed_for_obj(self, request: Request, name: str, obj: Any) -> bool:
        if name == "revert":
            return obj.action in REVERTIBLE and self._may_revert(request, obj)
        allowed: bool = await super().is_row_action_allowed_for_obj(request, name, obj)
        return allowed

    def _may_revert(self, request: Request, entry: AuditEntry) -> bool:
        target = self.targets.get(entry.model)
        needed = "create" if entry.action == "delete" else "edit"
        return target is not None and target.allows(request, needed)

    @row_action(
        name="revert",
        text="Revert",
        confirmation="Restore the values from before this change?",
        icon_class="fa fa-rotate-left",
        submit_btn_text="Revert",
        exclude_from_list=True,
    )
    async def revert_action(self, request: Request, pk: Any) -> None:
        """Undo one logged update or deletion; the revert is logged too."""
        entry = await self.find_by_pk(request, pk)
        if entry is None:
            raise ActionFailed("This log entry no longer exists.")
        if not self._may_revert(request, entry):
            raise ActionFailed("Forbidden")
        try:
            obj = await revert(get_session(request), entry)
        except RevertError as error:
            raise ActionFailed(str(error)) from None
        flash(request, f"Reverted: {obj}", "success")
