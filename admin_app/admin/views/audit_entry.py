"""The audit log screen: every change and security event, filterable, with revert.

Revert undoes one logged update or deletion, or a whole applied import (its entry
carries the counts; the job keeps the rows, see `admin_app.imports.revert`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from starlette.requests import Request
from starlette_admin import EnumField, IntegerField, RequestAction, StringField
from starlette_admin.actions import row_action
from starlette_admin.exceptions import ActionFailed
from starlette_admin.fields import BaseField
from starlette_admin.flash import flash
from starlette_admin.helpers import on_commit
from starlette_admin.i18n import gettext

from admin_app.admin.approvals import AUDIT_ACTIONS
from admin_app.admin.base import AppModelView
from admin_app.admin.changes import ChangeReader, ChangesField
from admin_app.admin.fields import AwareDateTimeField
from admin_app.audit.change_sets import entries_of, revert_change_set
from admin_app.audit.events import SECURITY_ACTIONS
from admin_app.audit.revert import REVERTIBLE, RevertError, revert
from admin_app.auth.identity import current_identity
from admin_app.auth.permissions import grants
from admin_app.db import utcnow
from admin_app.imports.revert import Reverted, revert_import
from admin_app.live.messages import Actor, Change
from admin_app.live.service import find_live
from admin_app.models import AuditEntry
from admin_app.state import get_session

ACTIONS = (
    "create",
    "update",
    "delete",
    "revert",
    "import",
    "trash",
    "restore",
    "purge",
    *AUDIT_ACTIONS,
    *SECURITY_ACTIONS,
)


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
        StringField(
            "change_set",
            label="Change set",
            exclude_from_list=True,
            help_text="Entries of one save (an order with its lines) share it; reverted as one.",
        ),
    ]
    searchable_fields = ["actor", "model", "action", "object_repr", "object_pk", "at", "ip"]
    sortable_fields = ["id", "at", "actor", "action", "model"]
    fields_default_sort = [("at", True), ("id", True)]
    exporters = ["csv", "json"]
    importers: list[str] = []
    read_only = True
    targets: dict[str, AppModelView] = {}
    """Table name to the view that manages it; filled in when the admin is built."""
    parents: dict[str, AppModelView] = {}
    """Table name of rows edited inside another view's form (order lines) to that view."""
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
        if name == "revert" and obj.change_set:
            return await self._may_revert_set(request, obj)
        if name == "revert":
            return _revertible(obj) and self._may_revert(request, obj)
        allowed: bool = await super().is_row_action_allowed_for_obj(request, name, obj)
        return allowed

    def _may_revert(self, request: Request, entry: AuditEntry) -> bool:
        """Whether the user may make the changes a revert makes: re-create a deleted row,
        edit a changed one; for an import, delete what it created and edit what it updated."""
        target = self.targets.get(entry.model)
        if target is None:
            return False
        if entry.action == "import":
            needed = [
                a
                for a, n in (("delete", "rows_created"), ("edit", "rows_updated"))
                if _count(entry, n)
            ]
        else:
            needed = ["create" if entry.action == "delete" else "edit"]
        return all(target.allows(request, action) for action in needed)

    async def _may_revert_set(self, request: Request, entry: AuditEntry) -> bool:
        """Whether the user may make every change that undoing `entry`'s whole change set
        makes. A row edited inside its parent's form (an order's line) needs only what
        editing the parent needs, as in the form."""
        entries = await entries_of(get_session(request), entry)
        for item in entries:
            needed = _UNDO_NEEDS.get(item.action)
            target, parent = self.targets.get(item.model), self.parents.get(item.model)
            if needed is None or (target is None and parent is None):
                return False
            own = target is not None and target.allows(request, needed)
            if not own and not (parent is not None and parent.allows(request, "edit")):
                return False
        return True

    @row_action(
        name="revert",
        text="Revert",
        confirmation=(
            "Undo this change? An import, or a save of a record with its lines, is undone "
            "as a whole: the records it created are deleted and the records it updated "
            "get their earlier values back."
        ),
        icon_class="fa fa-rotate-left",
        submit_btn_text="Revert",
        exclude_from_list=True,
    )
    async def revert_action(self, request: Request, pk: Any) -> None:
        """Undo one logged update or deletion, or a whole import; the revert is logged too."""
        entry = await self.find_by_pk(request, pk)
        if entry is None:
            raise ActionFailed(gettext("This log entry no longer exists."))
        if entry.change_set:
            await self._revert_set(request, entry)
            return
        if not self._may_revert(request, entry):
            raise ActionFailed(gettext("Forbidden"))
        try:
            if entry.action == "import":
                done = await revert_import(
                    get_session(request), entry, self._reachable(request, entry)
                )
                self._announce(request, entry, done)
                flash(request, _reverted_text(done), "success")
                return
            obj = await revert(get_session(request), entry)
        except RevertError as error:
            raise ActionFailed(str(error)) from None
        flash(request, gettext("Reverted: %(record)s") % {"record": obj}, "success")

    async def _revert_set(self, request: Request, entry: AuditEntry) -> None:
        """Undo a whole save (an order with its lines), or nothing."""
        if not await self._may_revert_set(request, entry):
            raise ActionFailed(gettext("Forbidden"))
        try:
            count = await revert_change_set(get_session(request), entry)
        except RevertError as error:
            raise ActionFailed(str(error)) from None
        flash(
            request,
            gettext("Reverted the whole save: %(count)s change(s) undone.") % {"count": count},
            "success",
        )

    def _reachable(self, request: Request, entry: AuditEntry) -> Select[Any] | None:
        """The keys of the rows of the entry's table the user may change; None for all."""
        target = self.targets[entry.model]
        every: Select[Any] = select(getattr(target.model, target.pk_attr or "id"))
        scoped = target.scope_query(request, every, grants(request))
        return None if scoped is every else scoped

    def _announce(self, request: Request, entry: AuditEntry, done: Reverted) -> None:
        """One live change for the whole revert, once it is committed."""
        live, user = find_live(request), current_identity(request)
        total = done.deleted + done.restored
        if live is None or user is None or not total:
            return
        key = str(self.targets[entry.model].key)
        change = Change(
            key,
            (),
            "deleted" if done.deleted else "updated",
            Actor(user.id, user.display_name),
            utcnow().isoformat(),
            total,
        )
        on_commit(request, lambda: live.publish(change))


_UNDO_NEEDS = {"create": "delete", "update": "edit", "delete": "create"}
"""The permission undoing each kind of logged change needs on the record's view."""


def _revertible(entry: AuditEntry) -> bool:
    """Single-record changes and applied imports; not the revert of an import (no record)."""
    if entry.action == "import":
        return True
    return entry.action in REVERTIBLE and bool(entry.object_pk)


def _count(entry: AuditEntry, name: str) -> int:
    """A count an import entry logged as `[None, n]`."""
    value = (entry.changes or {}).get(name)
    return int(value[1]) if isinstance(value, list) and len(value) == 2 and value[1] else 0


def _reverted_text(done: Reverted) -> str:
    return gettext(
        "Import #%(job)s reverted: %(deleted)s record(s) deleted, %(restored)s restored."
    ) % {"job": done.job_id, "deleted": done.deleted, "restored": done.restored}
