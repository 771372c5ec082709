"""Everyone's login sessions, for superusers: who is logged in where, and a way to end it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette_admin import HasOne, StringField
from starlette_admin.actions import ActionSelection, action, row_action
from starlette_admin.flash import flash
from starlette_admin.i18n import gettext

from admin_app.admin.base import AppModelView
from admin_app.admin.devices import device_name
from admin_app.admin.fields import AwareDateTimeField, DeviceField
from admin_app.audit.events import record_event
from admin_app.auth.sessions import revoke_session
from admin_app.models import AdminSession
from admin_app.state import get_session


class AdminSessionView(AppModelView):
    model = AdminSession
    key = "admin-session"
    menu_label = "Sessions"
    icon = "fa fa-desktop"
    menu_group = "Administration"
    fields = [
        StringField("id", label="Session", exclude_from_list=True),
        HasOne("user", key="admin-user"),
        StringField("ip", label="IP"),
        DeviceField("user_agent", label="Device"),
        AwareDateTimeField("created_at", label="Signed in"),
        AwareDateTimeField("last_seen_at", label="Last seen"),
        AwareDateTimeField("expires_at", label="Expires"),
        AwareDateTimeField("revoked_at", label="Ended"),
    ]
    searchable_fields = ["ip", "user_agent", "created_at", "last_seen_at", "revoked_at", "user"]
    sortable_fields = ["created_at", "last_seen_at", "expires_at", "revoked_at"]
    fields_default_sort = [("last_seen_at", True)]
    exporters = ["csv"]
    importers: list[str] = []
    read_only = True

    async def repr(self, obj: Any, request: Request) -> str:
        return f"{device_name(obj.user_agent)} · {obj.ip or 'unknown IP'}"

    async def _end(self, request: Request, record: AdminSession) -> None:
        db = get_session(request)
        await revoke_session(db, record.id)
        await record_event(
            db,
            "session_revoked",
            user=record.user,
            note=f"by an administrator: {device_name(record.user_agent)}, {record.ip}",
        )

    @row_action(
        name="revoke",
        text="Log out",
        confirmation="End this session now? Its browser will have to log in again.",
        icon_class="fa fa-right-from-bracket",
        submit_btn_text="Log out",
    )
    async def revoke_row(self, request: Request, pk: Any) -> None:
        record = await self.find_by_pk(request, pk)
        if record is not None and record.revoked_at is None:
            await self._end(request, record)
        flash(request, gettext("The session was ended."), "success")

    @action(
        name="revoke",
        text="Log out",
        confirmation="End the selected sessions now?",
        submit_btn_text="Log out",
    )
    async def revoke_selected(self, request: Request, selection: ActionSelection) -> None:
        records = await self.find_by_pks(request, await selection.pks())
        live = [r for r in records if r.revoked_at is None]
        for record in live:
            await self._end(request, record)
        flash(request, gettext("%(count)s session(s) ended.") % {"count": len(live)}, "success")
